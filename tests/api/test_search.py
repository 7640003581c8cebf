"""Message search over the API: full-text on PostgreSQL and SQLite FTS5, accents either
way, user text never taken as query syntax, filters, and one tenant's words only."""

from __future__ import annotations

from typing import Any

from hablo.api.search import postgres_tsquery, search_terms, snippet, spellings, sqlite_match
from hablo.db.enums import Role
from tests.api.support import Api, Client
from tests.api.test_conversations import Chats, chats, new_peer

__all__ = ["chats"]


def hits(client: Client, **params: Any) -> list[dict[str, Any]]:
    """Hits among customers' messages (the bot's replies repeat words unpredictably)."""
    params.setdefault("sender_kind", "customer")
    response = client.get("/api/messages/search", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_accents_either_way_and_all_words(api: Api, chats: Chats) -> None:
    peer = new_peer()
    conversation = chats.start(peer, "¿Cuánto sale la Coloración completa?")
    chats.say("y el corte de pelo?", peer)
    agent = api.as_role(Role.AGENT)

    for query in ("coloracion", "COLORACIÓN", "coloración", "cuanto coloracion", "Colorac ion"):
        found = hits(agent, q=query)
        if query == "Colorac ion":  # whole words only
            assert found == [], query
            continue
        assert [h["snippet"] for h in found] == ["¿Cuánto sale la Coloración completa?"], query
        hit = found[0]
        assert hit["conversation_id"] == str(conversation)
        assert hit["sender_kind"] == "customer" and hit["channel"] == "console"
        assert "contact_name" in hit and hit["created_at"]
    assert hits(agent, q="coloracion barba") == []  # every word must appear
    assert len(hits(agent, q="pelo")) == 1
    # The salon's price list names Coloración too: the bot's reply is found as well.
    bot = hits(agent, q="coloracion", sender_kind="bot")
    assert bot and all(h["sender_kind"] == "bot" for h in bot)


def test_user_text_is_never_query_syntax(api: Api, chats: Chats) -> None:
    chats.start(new_peer(), "quiero turno para corte")
    agent = api.as_role(Role.AGENT)
    for query in (
        'corte OR "',
        "corte*",
        "NEAR(corte turno)",
        "corte -turno",
        "corte & | ! ( ) : ' \\",
        "turno:corte",
        "^corte",
    ):
        response = agent.get("/api/messages/search", params={"q": query})
        assert response.status_code == 200, (query, response.text)
    assert len(hits(agent, q="corte turno")) == 1
    assert len(hits(agent, q='corte OR "')) == 0  # "or" is just a word here
    assert len(hits(agent, q="corte -turno")) == 1  # "-" is not NOT
    for empty in ("!!!", "   ", "¿?"):
        refused = agent.get("/api/messages/search", params={"q": empty})
        assert refused.status_code == 422, empty
    assert agent.get("/api/messages/search").status_code == 422
    assert agent.get("/api/messages/search", params={"q": "x" * 201}).status_code == 422


def test_filters_and_pages(api: Api, chats: Chats) -> None:
    first, second = new_peer(), new_peer()
    one = chats.start(first, "hola, precio del corte")
    chats.start(second, "hola, precio de la manicura")
    agent = api.as_role(Role.AGENT)
    assert len(hits(agent, q="hola precio")) == 2
    only_one = hits(agent, q="hola precio", conversation_id=str(one))
    assert [h["conversation_id"] for h in only_one] == [str(one)]
    page = agent.get(
        "/api/messages/search",
        params={"q": "hola precio", "per_page": 1, "sender_kind": "customer"},
    ).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    # Newest first.
    assert "manicura" in page["items"][0]["snippet"]
    assert hits(agent, q="hola", created_from="2999-01-01T00:00:00Z") == []
    assert len(hits(agent, q="hola precio", created_to="2999-01-01T00:00:00+00:00")) == 2
    assert hits(agent, q="hola", sender_kind="agent") == []
    bad = agent.get("/api/messages/search", params={"q": "hola", "created_from": "ayer"})
    assert bad.status_code == 422


def test_one_tenants_words_only(api: Api, chats: Chats) -> None:
    chats.start(new_peer(), "la coloración de ayer quedó bárbara")
    chats.start(new_peer(), "mi coloración favorita", tenant="other")
    mine = hits(api.as_role(Role.AGENT), q="coloracion")
    theirs = hits(api.as_role(Role.AGENT, tenant="other"), q="coloracion")
    assert [h["snippet"] for h in mine if h["sender_kind"] == "customer"] == [
        "la coloración de ayer quedó bárbara"
    ]
    assert [h["snippet"] for h in theirs if h["sender_kind"] == "customer"] == [
        "mi coloración favorita"
    ]
    assert (
        api.as_role(Role.CLIENT).get("/api/messages/search", params={"q": "x"}).status_code == 403
    )


def test_query_building() -> None:
    assert search_terms("¿Cuánto sale la COLORACIÓN? cuanto") == [
        "cuanto",
        "sale",
        "la",
        "coloracion",
    ]
    assert "coloración" in spellings("coloracion") and "pingüino" in spellings("pinguino")
    assert "año" in spellings("ano")
    assert sqlite_match('corte "OR" NEAR(x)') == '"corte" "or" "near" "x"'
    tsquery = postgres_tsquery("Coloración it's")
    assert tsquery.startswith("('coloración' | 'coloracion' | ")
    assert "'it'" in tsquery and "'s'" in tsquery and "\\" not in tsquery
    long = "palabra " * 60 + "la coloración especial " + "otra " * 60
    piece = snippet(long, "coloracion")
    assert "coloración especial" in piece and piece.startswith("…") and len(piece) <= 162
