"""From a raw message to intent, confidence, language and entities."""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from hablo.engine.nlu.acts import (
    AFFIRM,
    CLOCK_NUMBER,
    DENY,
    HELP,
    MOVE_STEMS,
    MOVE_VERBS,
    adds_on,
    after_missed_visit,
    asks_cancel,
    asks_end,
    asks_holidays,
    asks_if_booked,
    asks_latest,
    asks_opening,
    asks_reminder,
    asks_shift,
    asks_total,
    asks_which_days,
    asks_which_time_held,
    cancels_own_booking,
    closes_topic,
    corrects_day,
    corrects_service,
    first_time,
    means_own_booking,
    moves_the,
    prefers,
    prefers_other_day,
    read_act,
    reverts,
    same_again,
    says_cancel,
    shift_minutes,
    swap_pair,
    undoes_cancel,
    wants_soonest,
)
from hablo.engine.nlu.advice import RECOMMEND, asks_advice
from hablo.engine.nlu.classifier import OUT_OF_SCOPE, IntentClassifier, Prediction
from hablo.engine.nlu.corrections import (
    dropped_names,
    services_taken_back,
    without_taken_back,
)
from hablo.engine.nlu.datetimes import (
    OpeningHours,
    WhenMention,
    extract_weekday,
    extract_when,
)
from hablo.engine.nlu.genders import asks_if_age_matters, asks_if_gender_matters
from hablo.engine.nlu.gifts import asks_gift
from hablo.engine.nlu.holder import holder_name
from hablo.engine.nlu.holidays import HolidayNames
from hablo.engine.nlu.language import detect_language
from hablo.engine.nlu.lateness import arrives_late
from hablo.engine.nlu.model_store import (
    ModelStore,
    dump_model,
    load_model,
    model_key,
    read_builtin_model,
)
from hablo.engine.nlu.notice import asks_arrival_time, asks_booking_notice
from hablo.engine.nlu.out_of_scope import OUT_OF_SCOPE_EXAMPLES
from hablo.engine.nlu.party import (
    for_companion,
    names_their_people,
    party_size,
    person_parts,
    without_their_people,
)
from hablo.engine.nlu.reach import PHONE, asks_phone
from hablo.engine.nlu.remote import asks_remote, remote_services, remote_thing
from hablo.engine.nlu.services import CHILDREN_SERVICE, ServiceMatcher
from hablo.engine.nlu.sizes import of_size, sized_variant
from hablo.engine.nlu.spelling import Speller
from hablo.engine.nlu.text import normalize, plain
from hablo.engine.nlu.trainer import train_in_child
from hablo.engine.nlu.unknown import (
    NOT_OFFERED,
    UNKNOWN_FACT,
    UnknownAsk,
    asked_about,
    open_question,
)
from hablo.plugins.sdk import ServiceInfo

TrainingSet = tuple[tuple[str, str], ...]  # (text, intent)
# Built-in intents a question about an unknown thing is mistaken for ("¿hacen alisado?"
# scores as pricing); a tenant plugin's confident intent is left alone.
_DISGUISES = frozenset({None, "pricing", "location", "hours", "book", "greeting", "my_bookings"})
_UNSURE = 0.6
# Other built-in intents an unsure classifier gives such questions ("do you take
# walk-ins?" → pay); a plugin's intent is trusted at any confidence.
_SURE_ONLY = frozenset({"pay", "human", "cancel", "reschedule", "thanks"})
# "¿tienen citas el jueves 25?": a day plus one of these asks for a booking.
_AVAILABILITY = re.compile(
    r"\b(?:turnos?|citas?|lugar|hueco|espacio|disponib\w*|appointments?|slots?|availab\w*"
    r"|tiene algo|tenes algo|tienes algo|tienen algo|teneis algo|tendran algo|tendreis algo"
    r"|tendrias algo|hay algo|anything|something open"
    r"|what (?:have|ve) you got|what do you have|que (?:tenes|tienes|tienen|tiene) (?:para|el|la)"
    r"|openings?|puedo ir|puedo pasar|pasar por|atender\w*|atienden|atiende|atiendan"
    r"|recibir\w*|revisar\w*|ver(?:me|lo|la|nos|los|las)|llevar\w*|traer\w*"
    r"|can i come|come in|come by|pop in|stop by|drop (?:\w+ )?off"
    r"|(?:se |te |le )?(?:lo|la) dejo|dejarlo|dejarla|(?:lo|la) paso a dejar"
    r"|(?:see|check|fit|squeeze|get|take|bring) (?:me|him|her|it|us|them|my \w+)(?: in)?"
    r"|get in|take a look"
    # "can you do it tomorrow?", "¿me lo pueden hacer mañana?": the job asked about, then
    r"|(?:can|could|would) (?:you|u|ya|y all) (?:guys )?(?:do|fix|look at)"
    r" (?:it|that|this|them|one)"
    r"|(?:me |nos |se )?(?:lo|la|los|las) (?:pueden|puede|podes|puedes|podrian|podria|podrias)"
    r" hacer|hacermelo|hacermela|me lo hacen|me la hacen"
    # "¿me podéis ver mañana?", "¿la puede atender el viernes?"
    r"|(?:me|nos|lo|la|le) (?:puede|pueden|podeis|podes|puedes|podrian|podria|podrias)"
    r" (?:ver|atender|recibir)"
    # "I'd like to come next week", "quisiera pasar el jueves": a visit wanted then
    r"|(?:like|love|want|need|wanna|hoping) to (?:come|pop|drop|swing)"
    r"|(?:quiero|quisiera|queria|me gustaria|necesito) (?:ir|pasar|venir|caer)\b)\b"
)
# "el lunes a primera hora", "a última hora": a time of the day, not "Primera valoración".
_FIRST_HOUR = re.compile(r"\b(?:a\s+)?(?:primer[ao]?|[uú]ltim[ao])\s+hora\b", re.IGNORECASE)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Understanding:
    intent: str | None
    confidence: float
    language: str
    entities: Mapping[str, Any] = field(default_factory=dict)


def training_set(
    intent_examples: Iterable[tuple[str, Mapping[str, Iterable[str]]]],
) -> TrainingSet:
    """Flatten (intent, {lang: examples}) pairs and add the out-of-scope background."""
    pairs = [
        (text, intent)
        for intent, by_lang in intent_examples
        for examples in by_lang.values()
        for text in examples
    ]
    pairs.extend((text, OUT_OF_SCOPE) for texts in OUT_OF_SCOPE_EXAMPLES.values() for text in texts)
    return tuple(sorted(set(pairs)))


class ClassifierRef:
    """The classifier one training set is served with, replaced whole when a better one
    arrives: one reference assignment, so a reader on another thread sees the old or the
    new classifier, never a mix. The TenantRuntime is frozen and shared by actors; this
    holder is the one thing in it that changes."""

    def __init__(
        self, key: str, intents: frozenset[str], classifier: IntentClassifier, exact: bool
    ) -> None:
        self.key = key
        # The training set's intents: a stand-in model may know others (see NluPipeline).
        self.intents = intents
        self._classifier = classifier
        self._exact = threading.Event()
        if exact:
            self._exact.set()

    @property
    def classifier(self) -> IntentClassifier:
        return self._classifier

    @property
    def exact(self) -> bool:
        """True once the classifier was trained on exactly this training set."""
        return self._exact.is_set()

    def wait_exact(self, timeout: float) -> bool:
        return self._exact.wait(timeout)

    def install(self, classifier: IntentClassifier) -> None:
        self._classifier = classifier
        self._exact.set()


class ClassifierCache:
    """Tenants with the same skills and examples share one classifier, trained once per
    training set and stored: a restart or another process loads it in milliseconds.

    A training set with no stored model is served at once with the shipped built-in model
    and trained in a child process (one at a time, from a background thread), then
    swapped in (`ClassifierRef.install`); a reply never waits for scikit-learn.
    `wait_for_exact=True` trains synchronously, in this process, instead: for tools whose
    figures must come from the exact model (evaluation, tests, `nlu train`).
    """

    def __init__(
        self,
        threshold: float,
        store: ModelStore | None = None,
        *,
        wait_for_exact: bool = True,
    ) -> None:
        self._threshold = threshold
        self._store = store
        self._wait_for_exact = wait_for_exact
        self._lock = threading.Lock()
        self._refs: dict[str, ClassifierRef] = {}
        self._builtin: tuple[str, IntentClassifier] | None = None
        self._builtin_read = False
        self._queue: queue.Queue[tuple[ClassifierRef, TrainingSet] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.trainings = 0  # training runs in this process (diagnostics and tests)

    def get(self, examples: TrainingSet) -> ClassifierRef:
        key = model_key(examples)
        intents = frozenset(label for _, label in examples) - {OUT_OF_SCOPE}
        with self._lock:
            ref = self._refs.get(key)
            if ref is not None:
                return ref
            found = self._stored(key)
            if found is not None:
                ref = ClassifierRef(key, intents, found, exact=True)
            elif self._wait_for_exact or (stand_in := self._builtin_classifier()) is None:
                ref = ClassifierRef(key, intents, self._train(key, examples), exact=True)
            else:
                ref = ClassifierRef(key, intents, stand_in, exact=False)
                self._train_later(ref, examples)
            self._refs[key] = ref
            return ref

    def train(self, examples: TrainingSet) -> tuple[str, str]:
        """Make sure the exact model is stored: (key, "shipped" | "stored" | "trained")."""
        key = model_key(examples)
        with self._lock:
            self._builtin_classifier()
            if self._builtin is not None and self._builtin[0] == key:
                return key, "shipped"
            if self._stored(key) is not None:
                return key, "stored"
            self._train(key, examples)
            return key, "trained"

    def preload(self) -> str | None:
        """Read the shipped model now (~20 ms), so no tenant's first reply pays for it.
        Returns its key (None: no shipped model)."""
        with self._lock:
            self._builtin_classifier()
            return None if self._builtin is None else self._builtin[0]

    def close(self) -> None:
        """Stop the background trainer after its current run (it is a daemon thread:
        a process that exits does not wait for it). A cache shared by engines that
        start again gets a new trainer when it next needs one."""
        with self._lock:
            if self._worker is not None:
                self._queue.put(None)
                self._worker = None

    # -- finding and training ------------------------------------------------------------

    def _builtin_classifier(self) -> IntentClassifier | None:
        if not self._builtin_read:
            self._builtin_read = True
            shipped = read_builtin_model()
            if shipped is not None:
                self._builtin = shipped[0], IntentClassifier(shipped[1], self._threshold)
        return None if self._builtin is None else self._builtin[1]

    def _stored(self, key: str) -> IntentClassifier | None:
        builtin = self._builtin_classifier()
        if builtin is not None and self._builtin is not None and self._builtin[0] == key:
            return builtin
        data = self._store.load(key) if self._store is not None else None
        if data is None:
            return None
        stored_key, model = load_model(data)
        if stored_key != key:
            log.warning("nlu model %s is stored under key %s; ignored", stored_key, key)
            return None
        return IntentClassifier(model, self._threshold)

    def _train(
        self, key: str, examples: TrainingSet, *, in_child: bool = False
    ) -> IntentClassifier:
        if in_child:
            model = train_in_child(key, examples)
        else:
            # Imported here, the one place that trains in-process (tools and tests):
            # scikit-learn and scipy take about a second to import, which a serving
            # process, training in a child, never pays.
            from hablo.engine.nlu.training import train_arrays

            model = train_arrays(examples)
        self.trainings += 1
        if self._store is not None:
            self._store.save(key, len(examples), dump_model(key, model))
        log.info("trained the NLU for %d examples (model %s)", len(examples), key[:12])
        return IntentClassifier(model, self._threshold)

    def _train_later(self, ref: ClassifierRef, examples: TrainingSet) -> None:
        self._queue.put((ref, examples))
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._work, name="hablo-nlu-trainer", daemon=True
            )
            self._worker.start()

    def _work(self) -> None:
        """One training at a time, off every turn's path."""
        while (item := self._queue.get()) is not None:
            ref, examples = item
            try:
                # Another process sharing the store may have trained it meanwhile.
                found = self._stored(ref.key)
                classifier = found or self._train(ref.key, examples, in_child=True)
            except Exception:
                log.exception("training the NLU model %s failed; the stand-in stays", ref.key)
                continue
            ref.install(classifier)


class NluPipeline:
    def __init__(
        self,
        classifier: ClassifierRef,
        matcher: ServiceMatcher,
        default_language: str,
        holidays: HolidayNames | None = None,
        *,
        month_first: bool = False,
    ) -> None:
        self._ref = classifier
        self._matcher = matcher
        self._default_language = default_language
        self._holidays = holidays
        self._month_first = month_first  # "3/12" is March 12 (en-US)
        self._speller = Speller(matcher.words())

    @property
    def classifier(self) -> IntentClassifier:
        return self._ref.classifier

    @property
    def classifier_ref(self) -> ClassifierRef:
        return self._ref

    def respell(self, text: str) -> str:
        """The message with chat spelling read as the words meant ("kiero korte el
        juebes") and without what it takes back ("mañana no, pasado", "barba, no, corte",
        "era barba no corte"); the turn reads this text throughout (nlu/spelling.py,
        nlu/corrections.py)."""
        return without_taken_back(self._speller.respell(text), self._matcher)

    def understand(
        self,
        text: str,
        now: datetime,
        opening_hours: OpeningHours,
        conversation_language: str | None = None,
        said: str | None = None,
        service_beside: bool = False,
    ) -> Understanding:
        """`text` is respelled here, unless `said` (the message as written) is given: then
        `text` is its `respell`, done once by the caller (a turn reads that text
        throughout), and the services `said` takes back ("era barba no corte") are the
        entity "taken_back". `service_beside`: `text` is one question of a message whose
        other words name a service ("¿cuánto sale el corte? lo necesito urgente")."""
        if said is None:
            text = self.respell(text)
        language = detect_language(text, conversation_language or self._default_language)
        entities = self._entities(text, now, opening_hours)
        rest = after_missed_visit(text) if "when" in entities else None
        if rest is not None:
            # "no pude ir a mi cita de ayer, ¿me dan otra?": ayer is no day to book; "no
            # pude ir al turno del lunes, ¿me das otro para el viernes?": the viernes is
            for key in ("when", "weekday", "service_days"):
                entities.pop(key, None)
            wanted = self._entities(rest, now, opening_hours) if rest else {}
            entities.update({k: v for k, v in wanted.items() if k in ("when", "weekday")})
        dropped = self._dropped(text)
        if dropped:
            _without(entities, dropped)
        gone = (self._taken_back(said, text) if said is not None else ()) + dropped
        if gone:
            entities["taken_back"] = gone
        prediction = self._predict(text, entities)
        intent = prediction.intent
        if intent is not None and intent not in self._ref.intents:
            intent = None  # a stand-in model's intent that this tenant's skills do not have
        intent, confidence = _by_rule(
            text,
            intent,
            prediction.confidence,
            entities,
            self._matcher,
            prediction.chitchat,
            service_beside,
        )
        if intent in (AFFIRM, DENY) and confidence == 1.0 and read_act(text) is not None:
            # A whole message that is a yes or no names no service ("bárbaro" is no barba).
            for key in ("service", "services", "service_options", "services_then"):
                entities.pop(key, None)
        return Understanding(intent, confidence, language, entities)

    def _taken_back(self, said: str, text: str) -> tuple[ServiceInfo, ...]:
        """The services `said` takes back and its reading `text` no longer names; a name
        several services share stands for all of them ("A-level maths, not GCSE")."""
        kept = {s.id for s in self._matcher.find_all(text)}
        gone: dict[str, ServiceInfo] = {}
        for name in services_taken_back(self._speller.respell(said), self._matcher):
            found = self._matcher.find(name)
            for service in (found,) if found is not None else self._matcher.by_name_words(name):
                if service.id not in kept:
                    gone[str(service.id)] = service
        return tuple(gone.values())

    def _dropped(self, text: str) -> tuple[ServiceInfo, ...]:
        """ "sin barba" alone (nothing else said, so nothing was cut): the beard trim is
        dropped, not asked for."""
        named = [self._matcher.find(phrase) for phrase in dropped_names(text, self._matcher)]
        return tuple(s for s in named if s is not None)

    def _predict(self, text: str, entities: Mapping[str, Any]) -> Prediction:
        """The intent read without the tenant's service names when the message has some:
        a catalogue's words ("cambio de aceite", "consulta", "revisión") would otherwise
        pull it towards an intent that shares them; only what is left is read."""
        classifier = self._ref.classifier
        named = entities.get("services") or (
            (entities["service"],) if "service" in entities else entities.get("service_options")
        )
        if not named:
            return classifier.predict(text)
        rest = self._matcher.without_names(text, named)
        if len(rest.split()) < 2:  # "corte", "una limpieza": the name is the message
            return classifier.predict(text)
        raw, masked = classifier.predict(text), classifier.predict(rest)
        # Only a sure reading that is surer than the whole message's: "el lunes a las
        # 12" alone could be about a booking held, "manicura el lunes a las 12" is not.
        sure = masked.intent is not None and masked.confidence >= _UNSURE
        return masked if sure and masked.confidence > raw.confidence else raw

    def _service_days(
        self, text: str, now: datetime, opening_hours: OpeningHours
    ) -> tuple[tuple[ServiceInfo, WhenMention | None], ...]:
        """ "corte el jueves y manicura el viernes": each service with its own day."""
        parts = []
        for piece in _LIST_SPLIT.split(text):
            if not piece.strip():
                continue
            when = extract_when(
                piece, now, opening_hours=opening_hours, month_first=self._month_first
            )
            found = self._matcher.find_all(piece)
            parts.append((found[0] if len(found) == 1 else None, when))
        own = _own_days(parts)
        # "haircut thursday, manicure friday, both at 3pm": the time said apart holds for all
        apart = [w for s, w in parts if s is None and w is not None and w.has_time]
        if own and len(apart) == 1 and not apart[0].has_date:
            clock = apart[0].start.timetz()
            own = tuple(
                (s, w if w is None or w.has_time else _at(w, clock, apart[0].text)) for s, w in own
            )
        return own

    def _entities(self, text: str, now: datetime, opening_hours: OpeningHours) -> dict[str, Any]:
        entities: dict[str, Any] = {}
        when = extract_when(
            _without_onset(text), now, opening_hours=opening_hours, month_first=self._month_first
        )
        if self._holidays is not None:
            when = _on_named_holiday(text, when, now, self._holidays)
        if when is not None:
            entities["when"] = when
        text = _FIRST_HOUR.sub(" ", text)  # a time of day, read above: no service's name
        # Only the services named near the day, unless several people are booked: "corte
        # mañana a las 10 y para mi hija a las 11, brushing" asks for both.
        near = when.text if when and party_size(text) < 2 else None
        services = self._matcher.find_all(text, near=near)
        if len(services) > 1:
            # "no, mejor sesión individual, mi pareja no puede": one service, not "Terapia
            # de pareja" besides (a person of theirs named; another service still named).
            alone = self._matcher.find_all(without_their_people(text), near=near)
            services = alone if 0 < len(alone) < len(services) else services
        if len(services) > 1 and not names_their_people(text):
            services = self._matcher.joined(services)  # "corte y barba": "Corte + barba"
        unsettled = self._matcher.unsettled(text) if services else ()
        if unsettled and not set(unsettled) & set(services):
            # "a cut and a blowout": which cut is asked first, the blowout comes after.
            entities["service_options"] = unsettled
            entities["services_then"] = tuple(services)
        elif services:
            said = normalize(text)
            if len(services) == 1 and _FOR_A_CHILD.search(said):
                # "a haircut for my 5 year old": the Kids cut, when there is one
                first = services[0]
                young = self._matcher.for_a_child(first, text)
                if young is None and CHILDREN_SERVICE.search(normalize(first.name)):
                    young = first  # "corte" read as the shop's "Corte para niños"
                adult = first if young != first else self._matcher.for_adults(first)
                if young and adult and young != adult and _ME_TOO.search(plain(text)):
                    services = [adult, young]  # "a cut for me and one for my son"
                else:
                    services = [young or first]
            elif len(services) == 1 and not CHILDREN_SERVICE.search(said):
                # "corte" in Spanish at a shop whose only Spanish name is "Corte para
                # niños": an adult asking for a haircut, not a kids cut.
                services = [self._matcher.for_adults(services[0]) or services[0]]
            if len(services) == 1:  # "terapia": the individual one, not the couples'
                services = [self._matcher.for_one_person(services[0], text) or services[0]]
            # "a full groom for my big dog": the large dog's, where grooms come in sizes
            catalogue = self._matcher.services()
            services = [sized_variant(s, catalogue, text) or s for s in services]
            entities["service"] = services[0]
            if len(services) > 1:
                entities["services"] = tuple(services)
            own = self._service_days(text, now, opening_hours) if when is not None else ()
            if own:  # "corte el jueves y manicura el viernes": each on its own day
                entities["service"] = own[0][0]
                entities["services"] = tuple(s for s, _ in own)
                entities["service_days"] = own
        else:
            options = self._matcher.by_name_words(text)
            if len(options) > 1 and _FOR_A_CHILD.search(normalize(text)):
                # "consulta para mi hijo": the children's one, when one of them is
                kids = tuple(s for s in options if CHILDREN_SERVICE.search(normalize(s.name)))
                adult = self._matcher.for_adults(kids[0]) if len(kids) == 1 else None
                if adult is not None and _ME_TOO.search(plain(text)):
                    # "consulta para mí y para mi hijo": the adults' one, then the child's
                    entities["service"], entities["services"] = adult, (adult, kids[0])
                    options = ()
                elif len(kids) == 1:
                    entities["service"] = kids[0]
                    options = ()
            elif len(options) > 1 and _FOR_AN_ADULT.search(normalize(text)):
                # "una consulta para mi mamá que tiene 80 años": not the children's one
                grown = tuple(s for s in options if not CHILDREN_SERVICE.search(normalize(s.name)))
                options = grown or options
            sized = of_size(options, text)
            if len(options) == 1:
                entities["service"] = options[0]
            if len(options) > 1 and len(sized) == 1:
                entities["service"] = sized[0]  # "a groom for a big dog": the large one
            elif len(sized) > 1:  # "limpieza": dental or facial? the skill asks
                entities["service_options"] = sized
        weekday = extract_weekday(text)
        if weekday is not None:
            entities["weekday"] = weekday
        own_times = self._party_times(text, now, opening_hours) if when is not None else ()
        named = entities.get("services") or ()
        if not own_times and when is not None and len(named) > 1 and "service_days" not in entities:
            own_times = self._service_times(text, named, now, opening_hours)
        if own_times:  # each person's, or each service's, in the order of "services"
            entities["own_times"] = own_times
        return entities

    def _service_times(
        self,
        text: str,
        services: tuple[ServiceInfo, ...],
        now: datetime,
        opening_hours: OpeningHours,
    ) -> tuple[time, ...]:
        """ "a haircut at 11 and a beard trim at 12", "el corte a las 10 y la barba a las
        11": each service's own time (in the order of `services`), when each has one
        beside it, on one day, and they differ; else none."""
        timed: dict[Any, time] = {}
        days = set()
        for piece in _LIST_SPLIT.split(text):
            found = self._matcher.find_all(piece) if piece.strip() else []
            said = extract_when(
                piece, now, opening_hours=opening_hours, month_first=self._month_first
            )
            if len(found) != 1 or said is None or not said.has_time:
                continue
            timed[found[0].id] = said.start.astimezone(now.tzinfo).time().replace(tzinfo=None)
            if said.has_date:
                days.add(said.start.date())
        clocks = tuple(timed.get(s.id) for s in services)
        if None in clocks or len(set(clocks)) != len(clocks) or len(days) > 1:
            return ()
        return tuple(c for c in clocks if c is not None)

    def _party_times(
        self, text: str, now: datetime, opening_hours: OpeningHours
    ) -> tuple[time, ...]:
        """ "para mí a las 3 y para mi hija a las 4": each person's own time (local, in
        the order said), when every person booked has one and they differ; else none."""
        people = party_size(text)
        if people < 2:
            return ()
        clocks = []
        for part in person_parts(text):
            said = extract_when(
                part, now, opening_hours=opening_hours, month_first=self._month_first
            )
            if said is not None and said.has_time:
                clocks.append(said.start.astimezone(now.tzinfo).time().replace(tzinfo=None))
        if len(clocks) != people or len(set(clocks)) != people:
            return ()
        return tuple(clocks)


_DAYS_SAID = (
    r"(?:the |el |la |last |this |este |esta )?(?:weekend|fin de semana|finde|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|lunes|martes|miercoles|miércoles|jueves"
    r"|viernes|sabado|sábado|domingo|morning|manana|mañana)"
)
# When an illness began, not the day asked for: "limping since the weekend", "vomiting
# for two days", "no come desde ayer"; "desde el lunes" only beside a symptom (alone it may
# be "from Monday on").
_ONSET = re.compile(
    rf"\b(?:since (?:yesterday|last night|{_DAYS_SAID})"
    r"|for (?:the )?(?:past |last )?(?:\w+ )?(?:days?|weeks?)"
    r"|desde (?:ayer|anoche|antier|anteayer|hace \w+(?: \w+)?)"
    r"|desde (?:el |la )?(?:fin de semana|finde|lunes|martes|miercoles|miércoles|jueves|viernes"
    r"|sabado|sábado|domingo)(?: pasado)?)\b",
    re.IGNORECASE,
)


def _without_onset(text: str) -> str:
    """The message without when an illness began (blanked, so positions stay)."""
    if not _SYMPTOM.search(plain(text)) and "since" not in text.lower():
        return text
    return _ONSET.sub(lambda m: " " * len(m.group(0)), text)


def _without(entities: dict[str, Any], dropped: tuple[ServiceInfo, ...]) -> None:
    """The entities without the services a message drops ("sin barba")."""
    named = entities.get("services") or ((entities["service"],) if "service" in entities else ())
    kept = tuple(s for s in named if s not in dropped)
    entities.pop("services", None)
    entities.pop("service", None)
    if kept:
        entities["service"] = kept[0]
    if len(kept) > 1:
        entities["services"] = kept


_LIST_SPLIT = re.compile(r"\s*[,;?!¿¡]\s*|\s+(?:y|e|and|plus|mas|más)\s+", re.IGNORECASE)


def _at(day: WhenMention, clock: time, said: str) -> WhenMention:
    start = datetime.combine(day.start.date(), clock.replace(tzinfo=None), day.start.tzinfo)
    return WhenMention(start, True, True, f"{day.text} {said}")


def _own_days(
    parts: list[tuple[ServiceInfo | None, WhenMention | None]],
) -> tuple[tuple[ServiceInfo, WhenMention | None], ...]:
    """The services of a message each with the day said beside it, when at least two
    different days are said; a service without its own day takes the one before's."""
    named = [(s, w if w is not None and w.has_date else None) for s, w in parts if s is not None]
    days = {w.start.date() for _, w in named if w is not None}
    if len(named) < 2 or len(days) < 2:
        return ()
    # "corte y barba el jueves": a service said before a day takes the day said next; one
    # said after the last day takes the day before it ("manicura el viernes y brushing").
    filled: list[tuple[ServiceInfo, WhenMention | None]] = []
    for i, (service, when) in enumerate(named):
        after = next((w for _, w in named[i:] if w is not None), None)
        filled.append((service, when or after or (filled[-1][1] if filled else None)))
    found: list[tuple[ServiceInfo, WhenMention | None]] = []
    for service, when in filled:
        if all(service.id != s.id for s, _ in found):
            found.append((service, when))
    return tuple(found)


def _on_named_holiday(
    text: str, when: WhenMention | None, now: datetime, holidays: HolidayNames
) -> WhenMention | None:
    """ "¿abren el Viernes Santo?", "Good Friday at 10": the holiday's date (and the time).
    A date said otherwise wins, unless it is part of the name ("Friday" of Good Friday)."""
    found = holidays.find(text, now.date())
    if found is None:
        return when
    day, name = found
    if when is not None and when.has_date:
        said = [w for w in normalize(when.text).split() if w.isalpha() and len(w) > 3]
        if not any(w in name.split() for w in said):
            return when
    clock = when.start.timetz() if when is not None and when.has_time else None
    start = datetime.combine(day, clock.replace(tzinfo=None) if clock else time(0), now.tzinfo)
    # The words that named it count as said ("¿y semana santa?" is a follow-up on a date).
    named = " ".join(w for w in normalize(text).split() if w in holidays.name_words(name))
    spoken = " ".join(x for x in (when.text if when else "", named) if x)
    return WhenMention(start, True, clock is not None, spoken)


# "¿puede ser?", "¿se podrá?": asking for what the message names, not about bookings held.
_MAY_I = re.compile(r"\b(?:puede ser|podra ser|se podra|se puede|is that ok|would that work)\b")
# "me lo pasás", "pasalo", "cambiame el turno", "move it", "push it": the booking held.
_MOVE_IT = re.compile(
    rf"\b(?:(?:me )?(?:lo|la) (?:{MOVE_STEMS})\w*"
    rf"|(?:{MOVE_STEMS})\w*(?:lo|la|melo|mela)"
    rf"|(?:{MOVE_STEMS})\w* (?:mi|el) (?:turno|cita)"
    r"|(?:move|push|change) (?:it|my appointment))\b"
)
_INSTEAD = re.compile(
    r"\b(?:instead|en cambio|en su lugar|could i do|can i do|can we do|would .{1,30} work"
    r"|puede ser|podria ser|me lo pas\w*|pasalo|pasamelo|me das|me podes dar|dame"
    r"|dejalo para|dejamelo para|and book|y (?:me )?(?:reserv|agend|anot)\w*)\b"
)
# Emergencies a bot must not answer with its menu (a vet's, a clinic's customers).
_EMERGENCY = re.compile(
    r"\b(?:emergenc\w*|ate (?:chocolate|poison|rat poison|grapes|raisins|xylitol|a sock)"
    r"|comio (?:chocolate|veneno|uvas)|trago (?:algo|un|una)|is bleeding|esta sangrando"
    r"|sangra mucho|no respira|not breathing|can t breathe|poisoned|envenen\w*"
    r"|convulsion\w*|seizure\w*|hit by a car|lo atropell\w*|la atropell\w*)\b"
)
# Urgency without an emergency named: "es urgente", "urgent", "lo antes posible, es grave".
_URGENT = re.compile(
    r"\b(?<!no es )(?<!nada )(?<!not )(?<!isn t )(?<!not that )"
    r"(?:urgentes?|urgentemente|urgencias?|urgent|urgently|es grave|it s serious)\b"
)


# Someone (or a pet) unwell, asking to be seen soon: the visit for the sick, today.
_SYMPTOM = re.compile(
    r"\b(?:sick|ill|unwell|vomit\w*|throwing up|threw up|limp\w*|not eating|won t eat"
    r"|diarrh\w*|fever|hurt\w*|injur\w*|pain|painful|cough\w*|swollen|lethargic|vomita\w*|cojea\w*"
    r"|aches?|aching|toothache|headache|backache|earache|sore|bleeding|sangra\w*|molestia\w*"
    r"|no come|no quiere comer|diarrea|fiebre|dolor|duele|lastim\w*|hinchad\w*|tos"
    r"|enferm\w*|me siento mal|se siente mal)\b"
)
_SOON = re.compile(
    r"\b(?:hoy|today|ahora|now|asap|right away|lo antes posible|cuanto antes|this morning"
    r"|this afternoon|esta tarde|esta manana|hoy mismo)\b"
)


# What a first-timer's question without a service may be read as.
_FIRST_VISIT_ASKS = frozenset({*_DISGUISES, "help", UNKNOWN_FACT, NOT_OFFERED, RECOMMEND})


def _names_service(entities: dict[str, Any]) -> bool:
    return any(k in entities for k in ("service", "services", "service_options"))


# Messages only the team can handle: a complaint about a visit, an overcharge, someone
# asking who to talk to (a supplier, a job seeker); arriving late is nlu/lateness.py.
_FOR_A_PERSON = re.compile(
    r"\b(?:(?:quiero|quisiera|queria) (?:hacer|dejar|poner) (?:un |una )?(?:reclamo|queja)"
    r"|me cortaron (?:re |muy |super )?mal|me (?:dejaron|quedo) (?:re |muy )?mal|quede disconforme"
    r"|no me gusto como (?:me )?quedo|me arruinaron|me cobraron (?:de mas|mal|dos veces)"
    r"|cobraron de mas|unhappy with|not happy with|came out (?:orange|green|wrong|badly)"
    r"|overcharged|charged me (?:twice|too much)|want to (?:make a )?complain\w*"
    r"|con quien (?:puedo |podria )?(?:hablar|comunicarme)|who (?:can|should) i (?:talk|speak)"
    r"|hablar con (?:el|la) (?:due\w+|encargad\w+|gerente)"
    r"|speak (?:to|with) the (?:owner|manager))\b"
)
_ONLY_A_NUMBER = re.compile(CLOCK_NUMBER)
# Words for prices the classifier does not know ("honorarios" is no "horarios").
_PRICE_WORDS = re.compile(
    r"\b(?:honorarios|arancel|aranceles|tarifa|tarifas|fees?|rates|hourly rate|cuanto cobr\w+)\b"
)
# "¿el corte del sábado sale lo mismo?": a price, in other words
_PRICE_SAID = re.compile(r"\b(?:sale|salen|vale|valen|cobr\w*|paga\w*|pay|charge\w*)\b|\$")
_PRICE_ASK = re.compile(r"\b(?:cuanto|precio|precios|price|prices|how much|cost|costs|cuesta)\b")
_CHEAPEST = re.compile(
    r"\b(?:lo mas (?:barato|economico)|el mas (?:barato|economico)|la mas (?:barata|economica)"
    r"|(?:the )?cheapest|least expensive)\b"
)
_SPEAKS = re.compile(
    r"\b(?:habla|hablan|hablas|hablais) (?:espanol|castellano|ingles)"
    r"|(?:do|can) you speak (?:english|spanish)|speak english\b"
)
# "¿con quién hablo?", "¿sos un bot?", "who am I talking to?", "is this the salon?"
_WHO_ARE_YOU = re.compile(
    r"\b(?:con quien hablo|quien (?:sos|eres|es|habla|me atiende)|sos (?:una persona|un bot"
    r"|humano|real|un robot)|eres (?:una persona|un bot|humano)|es un bot|hablo con (?:un bot"
    r"|una persona|una maquina)|who am i (?:talking|speaking|chatting) (?:to|with)|who is this"
    r"|are you (?:a bot|a robot|human|a real person|real|a person)|is this a bot"
    r"|is this the (?:\w+ )?(?:salon|shop|clinic|vet|studio|barbershop)|es la peluqueria"
    r"|es el (?:salon|local|consultorio|taller)|disculpa la hora|perdon la hora"
    r"|sorry (?:it s|for) (?:so )?late)\b"
)
_FOR_A_CHILD = re.compile(
    r"\b(?:(?:mi|my|para mi|for my|our|nuestr[oa])"
    r" (?:little |lil |peque |pequen[oa] |chiquit[oa] )?"
    r"(?:hij[oa]|hijit[oa]|nen[ea]|nenit[oa]|nin[oa]|bebe|chico|chica|chiquit[oa]|pequen[oa]|peque"
    r"|kid|kiddo|kids|son|daughter|child|baby|boy|girl|one|toddler|toddlers|chamac[oa]|escuincle"
    r"|crio|cria|pibe|piba)"
    r"|(?:my|for my|a) (?:[1-9]|1[0-2]) ?(?:year|yr)s? old)\b"
)
# A grown-up the service is for ("para mi mamá", "for my husband"): no children's service.
_FOR_AN_ADULT = re.compile(
    r"\b(?:mi|my|para mi|for my|a mi|de mi)"
    r" (?:mama|mami|madre|papa|papi|padre|esposo|esposa|marido|mujer|senora|abuel[oa]|suegr[oa]"
    r"|novi[oa]|pareja|jefe|jefa|mom|mum|mother|dad|father|husband|wife|grandma|grandpa"
    r"|grandmother|grandfather|partner|boyfriend|girlfriend|fiance|fiancee)\b"
    r"|\b(?:[2-9]\d|1[89]) (?:anos|years old|yrs old)\b"
)
# "how old does a puppy need to be for his first groom?": a question, not a want.
_HOW = re.compile(
    r"^(?:(?:hi|hello|hey|hola|buenas)\s+)*(?:how|why|what age|at what age|como|por que|porque"
    r"|a que edad|a partir de que|cada cuanto|how often)\b"
)
# "¿cómo es el tema de los turnos?", "how do appointments work?": about booking, which the
# booking answers by asking what it needs (not "I don't have that information").
_HOW_BOOKING = re.compile(
    r"\b(?:como|how)\b.*\b(?:turnos?|citas?|reservas?|appointments?|bookings?|sessions?"
    r"|sesiones)\b(?:\s+(?:funcionan|work|works))?\s*$"
)
# Someone who needs help with a subject or a problem a service is for.
_NEEDS_HELP = re.compile(
    r"\b(?:needs?|needing|wants?|could use|looking for) (?:some )?help with"
    r"|\bstruggl\w+ with|necesita(?:n|mos)? ayuda con|le cuesta|le va mal en\b"
)
# "y si hay que…", "and what if…": a case supposed, not a request.
_WHAT_IF = re.compile(
    r"^(?:y|e|and|pero|but)?\s*(?:si|what if|if)\s+(?:hay que|hiciera falta|necesit|tengo que"
    r"|tuviera|fuera|it needs|he needs|she needs|i need|we need|it turns out)"
)
_HOW_MUCH = re.compile(r"^(?:(?:hi|hello|hey|hola|buenas)\s+)*(?:how much|how long)\b")
# "a cut for me and one for my son", "corte para mí y para mi hijo": the adult too.
_ME_TOO = re.compile(
    r"\b(?:for me and|for me too|for myself and|me and my|my \w+ and i|and one for me"
    r"|for both of us|para mi y (?:para |otro para )?mi|para mi y uno|yo y mi|mi \w+ y yo"
    r"|y (?:otro|uno) para mi|para los dos|para ambos)\b"
)
_WANT = re.compile(
    r"\b(?:necesito|necesitaria|ocupo|ocupaba|quiero|quisiera|queria|me gustaria|busco"
    r"|me hace falta|need|want|would like|i d like|looking for"
    # "can we do a trial lesson first?", "¿podemos hacer una clase de prueba?"
    r"|(?:can|could|may) (?:i|we) (?:do|get|have|book|try|start with)"
    r"|(?:podemos|puedo|podria|podriamos) (?:hacer|sacar|reservar|agendar|pedir|probar))\b"
    # "quería saber si hacen color fantasía": a wish to know, not to book
    r"(?!\s+(?:saber|preguntar|consultar|averiguar|to know|to ask)\b)"
)
# What may surround a service named alone ("GCSE English please", "hola, una limpieza
# porfa", "a kids cut for my son"): the message asks for it.
_ONLY_ASKS = re.compile(
    r"(?:(?:hi|hello|hey|hiya|hola|buenas|buen dia|buenos dias|buenas tardes|please|pls|plz"
    r"|porfa|porfavor|por favor|thanks|thank you|gracias|a|an|the|one|un|una|el|la|for|para"
    r"|my|mi|son|daughter|kid|dog|cat|hijo|hija|nene|nena|perro|perrita|perrito|gato"
    r"|2|3|4|two|three|four|dos|tres|cuatro)\s*)*"  # "two haircuts please": one each
)
# A question about cancelling, not a cancellation: "si cancelo, ¿me cobran algo?".
_IF_I_CANCEL = re.compile(
    r"\b(?:si (?:lo |la )?cancelo|si (?:lo |la )?tengo que cancelar|if i (?:have to )?cancel"
    r"|cancellation (?:fee|policy)|politica de cancelacion|cargo por cancelar"
    # "¿puedo cancelar después si hace falta?", "can I cancel later if I need to?", "y si
    # después no puedo ir, ¿qué pasa?": how cancelling works, not a cancellation now
    r"|(?:puedo|se puede) cancelar (?:despues|mas adelante|mas tarde|si )"
    r"|can i cancel (?:later|if|it later)|if i need to cancel|if i can t (?:come|make it)"
    r"|y si (?:despues |luego |al final )?no (?:puedo|llego) (?:ir )?(?:que pasa|que hago))\b"
)
# Below this, "help" ("what can you do?") may be a question about a service ("do you do fades?").
_SURE_HELP = 0.8
_ANY_TIME = re.compile(r"\b(?:cualquier (?:horario|hora|momento)|any time|whenever)\b")
# A booking moved ("pasalo", "cambiar", "move"), or its time ("adelantalo", "atrasalo").
_MOVE = re.compile(rf"\b(?:{MOVE_VERBS}|adelant\w*|atras\w*)\b")


def _by_rule(
    text: str,
    intent: str | None,
    confidence: float,
    entities: dict[str, Any],
    matcher: ServiceMatcher,
    chitchat: bool = False,
    service_beside: bool = False,
) -> tuple[str | None, float]:
    """Where rules read a message better than the classifier (it may add "thing");
    `chitchat`: the classifier read small talk ("¿viste el partido?"); `service_beside`:
    the rest of the message names a service."""
    act = read_act(text)
    said = normalize(text)
    denies = act == DENY or (act is None and intent == DENY)
    if denies and "when" in entities and _MOVE_IT.search(said):
        return "reschedule", 1.0  # "no, esperá, mejor pasámelo al sábado"
    if act == HELP and _names_service(entities):
        # "my son needs help with GCSE maths": that service, not what the bot can do
        if intent in (None, HELP) and not _PRICE_ASK.search(plain(text)):
            return "book", _UNSURE
        act, intent = None, (None if intent == HELP else intent)
    if "service" in entities and "when" not in entities and _WHAT_IF.match(said) and "?" in text:
        # "y si hay que cambiar las balatas?", "and what if it needs a full groom?": what
        # it would cost, asked; no booking
        return "pricing", _UNSURE
    if (
        act is None
        and intent in (None, HELP, "greeting")
        and _names_service(entities)
        and _NEEDS_HELP.search(plain(text))
        and not _PRICE_ASK.search(plain(text))
    ):
        # "hi there, my daughter needs help with her GCSE English" (too long to read as
        # the "help" act): that service, as above
        return "book", _UNSURE
    if act is not None:  # "sí, gracias", "👍", "jaja"
        return act, 1.0
    if intent in (AFFIRM, DENY) and _ONLY_A_NUMBER.fullmatch(plain(text)):
        return None, 0.0  # "10" answers "¿a qué hora?" or picks an option; no yes
    if (
        intent in (None, "pricing", "help", "book")
        and adds_on(text)
        and _names_service(entities)
        and not _PRICE_ASK.search(plain(text))
    ):
        # "oh wait, can I add a nail clipping too?": one more service, booked (right
        # after the one just booked, if there is one), not its price
        return "book", _UNSURE
    if _EMERGENCY.search(normalize(text)):
        return "human", 1.0  # "my dog ate chocolate": a person, now, not the menu
    said = normalize(text)
    seen_soon = "when" in entities or _AVAILABILITY.search(said)
    if _URGENT.search(said) and seen_soon and service_beside and not _names_service(entities):
        return "book", 1.0  # "¿cuánto sale el corte? … lo necesito urgente antes del sábado"
    if _URGENT.search(said) and seen_soon and not _names_service(entities):
        # "es urgente, ¿me atienden hoy?": no service to list times of; a person, now
        # ("urgente, ¿tenés turno para corte?" names one: its soonest times are offered).
        return "human", 1.0
    said_plain = plain(text)
    soon = (
        _SOON.search(said_plain)
        or wants_soonest(text)
        or ("when" in entities and _AVAILABILITY.search(said))
    )
    if _SYMPTOM.search(said_plain) and soon and not _names_service(entities):
        sick = matcher.for_the_sick()
        if sick is not None and _FOR_A_CHILD.search(normalize(text)):
            # "mi niño tiene fiebre, ¿lo puede ver hoy?": the children's visit, if any
            sick = matcher.for_a_child(sick, text) or sick
        if sick is not None:  # "my dog has been throwing up, can you see him today?"
            entities["service"] = sick  # the visit for the sick: today's times follow
            return "book", 1.0
    first = matcher.for_a_first_visit() if first_time(text) else None
    named_other = _names_service(entities) and entities.get("service") != first
    if first is not None and not named_other and intent in _FIRST_VISIT_ASKS:
        # "es la primera vez que voy, ¿qué tengo que pedir?": the visit for someone new
        entities["service"] = first
        asks_booking = "when" in entities or intent == "book" or _WANT.search(said)
        return ("book", 1.0) if asks_booking else ("pricing", 1.0)
    if asks_arrival_time(text):  # "¿cuánto antes tengo que llegar?": not in the data; a person
        entities["thing"] = ""
        return UNKNOWN_FACT, 1.0
    if _FOR_A_PERSON.search(said_plain) or arrives_late(text):
        return "human", 1.0  # a complaint, a late arrival, a supplier: the team, not a menu
    if asks_phone(text) and intent in (*_DISGUISES, "help", "human", UNKNOWN_FACT):
        return PHONE, 1.0  # "¿tienen teléfono?", "can I just call?": the number, or this chat
    closing = closes_topic(text) if intent is None else None
    if closing is not None:
        return closing, 1.0  # "listo, gracias y perdón jaja", "no importa, llevo efectivo"
    if asks_total(text) and intent in (*_DISGUISES, "help"):
        return "pricing", 1.0  # "what's the total?": what was asked or booked, summed
    gender_asked = asks_if_gender_matters(text) and "when" not in entities
    age_asked = asks_if_age_matters(text) and "when" not in entities
    if (gender_asked or age_asked) and intent in (*_DISGUISES, "help", UNKNOWN_FACT, NOT_OFFERED):
        # "¿es lo mismo para hombre y mujer el corte?", "same price for kids and adults?":
        # the prices say it (pricing skill)
        entities["for_whom"] = "ages" if age_asked and not gender_asked else "genders"
        return "pricing", 1.0
    if _CHEAPEST.search(said_plain) and intent in _DISGUISES:
        return "pricing", 1.0  # "¿qué es lo más barato?": the price list says it
    if _PRICE_WORDS.search(said_plain) and intent in (*_DISGUISES, "help"):
        return "pricing", 1.0  # "¿cuáles son sus honorarios?", "fees?"
    if _SPEAKS.search(said_plain) and intent in (*_DISGUISES, "human", "help"):
        return "greeting", 1.0  # "¿habla español?": the greeting, in the language asked in
    # "perdón la hora, mañana tienen algo para color?" asks for more than who answers
    named_more = _names_service(entities) or "when" in entities
    who = _WHO_ARE_YOU.search(said_plain) and intent in (*_DISGUISES, "human", "help")
    if who and not (named_more and intent in ("book", "pricing", None)):
        return "greeting", 1.0  # "¿con quién hablo?", "are you a bot?": who answers
    # "queria turno para corte, no sé qué día, ¿qué me recomendás?": the days, not advice
    advice = asks_advice(text, _names_service(entities)) and not asks_which_days(text)
    if advice and intent in (*_DISGUISES, "help") and "when" not in entities:
        return RECOMMEND, 1.0  # "¿qué me recomendás?": what the business does, and a person
    if _IF_I_CANCEL.search(normalize(text)):
        entities["thing"] = ""  # "si cancelo, ¿me cobran algo?": a policy not known here
        return UNKNOWN_FACT, 1.0
    held = (asks_if_booked(text) or asks_which_time_held(text)) and not (
        asks_cancel(text) or _MOVE.search(said)
    )
    if held and intent in (None, "book", "pricing", "hours", AFFIRM):
        return "my_bookings", 1.0  # "¿tengo turno el viernes a las 10 para corte?"
    if intent in (None, "goodbye") and asks_latest(text):
        return "book", 1.0  # "la más tarde que tengas" (a flow that asked reads it first)
    if intent == "goodbye" and "when" not in entities and asks_shift(text):
        return "reschedule", _UNSURE  # "anything later?" is not "talk later"
    if intent in (AFFIRM, DENY, None) and cancels_own_booking(text):
        return "cancel", 1.0
    cancel_words = asks_cancel(text) and not asks_shift(text)  # "no llego, ¿más tarde?"
    said = normalize(text)
    moves = _MOVE_IT.search(said) or _INSTEAD.search(said)
    gives_up = cancel_words or intent == "cancel" or says_cancel(text)
    if gives_up and "when" in entities and moves:
        # "al final no puedo el viernes, ¿me lo pasás al sábado?", "I have to cancel
        # thursday, could I do saturday instead?": the booking moves, it is not dropped.
        return "reschedule", 1.0
    if (
        intent in (*_DISGUISES, AFFIRM, DENY, "ack")
        and "when" not in entities
        and (prefers_other_day(text))
    ):
        return "reschedule", 1.0  # "mmm mejor otro día" after booking: which day, then
    if intent in (AFFIRM, DENY, None, "ack") and "when" in entities and reverts(text):
        return "reschedule", 1.0  # "uy no, déjalo a las 11 como estaba"
    if intent in (AFFIRM, DENY, None, "goodbye", "ack", "reschedule") and cancel_words:
        return "cancel", 1.0  # "borralo porfa", "can't make it thursday anymore"
    if (
        intent in ("my_bookings", "reschedule")
        and _MAY_I.search(said)
        and not _MOVE.search(said)
        and ("service" in entities or "when" in entities)
    ):
        return "book", 1.0  # "corte el lunes a las 11, ¿puede ser?" asks for one
    if intent in (None, "pricing") and "when" in entities and _MOVE_IT.search(said):
        # "che, me surgió algo, ¿me lo pasás al martes?", "el de manicura pasalo al sábado
        # y el corte dejalo" (its two services named are no price question)
        return "reschedule", 1.0
    opening = asks_opening(text) and ("when" in entities or "weekday" in entities)
    if intent not in ("book", "cancel", "reschedule") and asks_holidays(text):
        return "hours", 1.0  # "¿trabajan en días festivos?" (no service "días festivos")
    if intent is None and opening:
        return "hours", 1.0  # "el miércoles 24, ¿trabajan?"
    unsure_hours = intent == "hours" and confidence < _UNSURE and not asks_opening(text)
    if (
        (intent is None or unsure_hours)
        and "when" in entities
        and (corrects_day(text) or prefers(text))
    ):
        # "me equivoqué, era para el viernes", "mejor el viernes a la misma hora" (its
        # "hora" is no opening hours): the booking skill decides
        return "book", _UNSURE
    if intent in (None, "pricing", "hours") and "service" in entities and asks_which_days(text):
        return "book", 1.0  # "what days do you have for a manicure?": the days it can be booked
    if intent is None and asks_which_days(text) and not asks_opening(text):
        return "book", _UNSURE  # "what days have you got free?": for what, then those days
    if (
        intent in (None, "pricing", "hours", "reschedule", "my_bookings", *_DISGUISES)
        and "service" in entities
        and wants_soonest(text)
        and not means_own_booking(text)
        and not moves_the(text)  # "¿me pasás el corte al primer turno libre?" moves it
    ):
        return "book", 1.0  # "¿cuándo es lo más pronto para un tinte?", "¿puedo pasar ahora?"
    if intent in (None, "hours", "pricing") and asks_end(text):
        return "my_bookings", 1.0  # "¿a qué hora termino?": the booking's end
    if (
        intent == "pricing"
        and "when" in entities
        and _names_service(entities)
        and _AVAILABILITY.search(said)
    ):
        # "¿cuánto me sale el cambio de balatas, me lo pueden hacer mañana?": a booking,
        # its price said first (the booking skill notes it)
        return "book", 1.0
    if intent in (None, "pricing") and "service" in entities and adds_on(text):
        return "book", 1.0  # "agregame también barba después del corte"
    if (
        intent in (*_DISGUISES, "reschedule")
        and _names_service(entities)
        and "when" not in entities
        and swap_pair(text, matcher.find)[1] is not None
    ):
        return "book", 1.0  # "cambiá la manicura por un brushing": the booking skill swaps
    if (
        intent in (*_DISGUISES, "help", UNKNOWN_FACT, DENY)  # "ay no, era barba no corte"
        and "service" in entities
        and "when" not in entities
        # "¿el corte es sin brushing?" asks what a service includes; it takes nothing back
        and (corrects_service(text) or ("taken_back" in entities and "?" not in text))
        and not _PRICE_ASK.search(said_plain)
    ):
        return "book", 1.0  # "ay me equivoqué, era barba": the booking skill swaps the service
    again = undoes_cancel(text) or same_again(text)
    if intent in (*_DISGUISES, "help", UNKNOWN_FACT, "reschedule", DENY, "ack") and again:
        return "book", 1.0  # "me arrepentí, volvé a reservarlo": the booking skill books it
    wants_it = "when" in entities or _WANT.search(said)
    if intent == "greeting" and "service" in entities and wants_it:
        return "book", 1.0  # "q onda, brushing sáb 10hs?", "buenas tardes, quiero las uñas"
    if (
        intent == "pricing"
        and confidence < _UNSURE
        and "service" in entities
        and "when" in entities
        and not _PRICE_ASK.search(said_plain)
        and not _PRICE_SAID.search(said_plain)
    ):
        return "book", 1.0  # "corte sabado": a service and a day, no price asked
    if intent == "greeting" and "service" in entities and len(said.split()) >= 5:
        # "hola, mi pareja y yo queremos empezar terapia de pareja, ¿cómo es?": more
        # than a hello; the service asked about, and its price
        return "pricing", _UNSURE
    if intent is None and "service" in entities and _WANT.search(said) and not _HOW.match(said):
        return "book", 1.0  # "necesito un cambio de aceite", "ocupo una limpieza"
    if (
        intent in (None, "pricing")
        and confidence < _UNSURE
        and "service" in entities
        and party_size(text) > 1
        and not _PRICE_ASK.search(said_plain)
    ):
        return "book", 1.0  # "dos cortes por favor": one for each, not their price
    if (
        intent in (None, "greeting")
        and "service" in entities
        and "when" not in entities
        and "?" not in text
        and _ONLY_ASKS.fullmatch(matcher.without_names(text, [entities["service"]]))
    ):
        # "GCSE English please", "beard trim": a booking of it (unsure: right after a
        # price list "el electro" asks that one's price, see engine/followups.py)
        return "book", _UNSURE
    if (
        intent in ("reschedule", "my_bookings")
        and "service" in entities
        and "when" in entities
        and not _MOVE.search(matcher.without_names(text, [entities["service"]]))
        and not means_own_booking(text)
    ):
        return "book", 1.0  # "cambio de aceite el viernes": the service's own "cambio"
    if intent in (None, "hours") and "service" in entities and _ANY_TIME.search(said):
        return "book", 1.0  # "pedicura el sábado, cualquier horario": any time will do
    if intent in (None, "book", "my_bookings") and asks_reminder(text):
        return "my_bookings", 1.0  # "¿me avisan el día antes?": the booking skill says how
    if intent in (None, "ack", "thanks", "greeting", "my_bookings") and holder_name(text):
        return "my_bookings", 1.0  # "a nombre de Juan", "se llama Rosa": the booking's name
    if "when" not in entities and asks_booking_notice(text):
        return "my_bookings", 1.0  # "¿con cuánta anticipación hay que reservar?": the same
    if intent is None and for_companion(text):
        return "book", _UNSURE  # "¿y para mi hijo también?": book for them too
    if intent in (None, "hours") and "when" not in entities and shift_minutes(text) is not None:
        return "reschedule", 1.0  # "¿me lo adelantás media hora?", "push it back an hour"
    if intent is None and "when" not in entities and asks_shift(text):
        return "reschedule", _UNSURE  # "¿se puede más tarde?" (a flow that asked reads it first)
    when = entities.get("when")
    if intent == AFFIRM and when is not None and when.has_date and when.has_time:
        # "actually let's do it, monday 5pm" (no booking question pending, or its flow
        # would have read it): a booking, of the service just priced if one was
        return "book", _UNSURE
    if intent in (AFFIRM, DENY) and ("service" in entities or "service_options" in entities):
        # "y si le hacen también la afinación?": its "si" is an "if", and the message asks
        # about a service: that service and its price (a yes or no that says more is
        # read by the flow that asked, before this).
        return "pricing", _UNSURE
    if intent == "help" and confidence < _SURE_HELP and "when" not in entities:
        meant = asked_about(text, matcher)
        if isinstance(meant, ServiceInfo):  # "do you do fades?" reads like "what can you do?"
            entities["service"] = meant
            return "pricing", 1.0
    if (
        intent in (*_DISGUISES, "help", UNKNOWN_FACT, NOT_OFFERED)
        and "when" not in entities
        and asks_remote(text)
    ):
        return _remote_answer(text, entities, matcher)
    gift = asks_gift(text)
    if gift and intent in (*_DISGUISES, "help", "pay", NOT_OFFERED):
        # "¿hacéis tarjetas regalo? para un masaje": a purchase, not a booking; the
        # business never said (its own FAQ answers, above, when it did)
        for key in ("service", "services", "service_options", "when"):
            entities.pop(key, None)
        entities["thing"] = gift
        return UNKNOWN_FACT, 1.0
    if intent not in _DISGUISES and (confidence >= _UNSURE or intent not in _SURE_ONLY):
        # A sure built-in intent, or a plugin's (a tenant's FAQ answers "¿tienen
        # estacionamiento?"), wins over "I don't know".
        return intent, confidence
    if "when" not in entities:  # with a day or time it is about availability
        asked = asked_about(text, matcher)
        if isinstance(asked, UnknownAsk):  # "¿hacen alisado?": say so, don't disguise
            entities["thing"] = asked.thing
            return asked.kind, 1.0
        if isinstance(asked, tuple):  # "¿hacéis uñas?": the manicure's and pedicure's prices
            for key in ("service", "services"):
                entities.pop(key, None)
            entities["service_options"] = asked
            return "pricing", 1.0
        if asked is not None:  # "¿hacen brushing?": yes, and its price; the question's
            # reading is the closer ("do you cut kids hair?"); "¿hacen terapia?" is the
            # individual one where there is a couples' one too
            entities["service"] = matcher.for_one_person(asked, text) or asked
            return "pricing", 1.0
    named_alone = "service" in entities and "when" not in entities
    swapped = matcher.swapped_name(text) if named_alone else None
    if swapped and intent in (*_DISGUISES, "help"):
        # "I need a tutor for A-level chemistry" where A-level maths is: not that lesson
        for key in ("service", "services"):
            entities.pop(key, None)
        entities["thing"] = swapped
        return NOT_OFFERED, 1.0
    named = "service" in entities or "service_options" in entities
    if intent is None and "when" in entities and (named or _AVAILABILITY.search(normalize(text))):
        return "book", max(confidence, _UNSURE)  # "corte el domingo a las 11"
    how = _HOW.match(said) is not None and not _HOW_MUCH.match(said)
    asks = intent is None and not chitchat and (not named or how) and "when" not in entities
    if asks and _HOW_BOOKING.search(said):
        return "book", _UNSURE  # "¿cómo es el tema de los turnos?": what it needs, asked
    if asks and open_question(text):
        entities["thing"] = ""  # "¿qué marca de tintura usan?": not known here; a person is
        return UNKNOWN_FACT, 1.0
    return intent, confidence


def _remote_answer(
    text: str, entities: dict[str, Any], matcher: ServiceMatcher
) -> tuple[str, float]:
    """ "y online se puede?": the services the business has online and their prices, or,
    when it names none, that it is not known here (and a person offered)."""
    remote = remote_services(matcher.services())
    for key in ("service", "services", "service_options", "services_then"):
        entities.pop(key, None)
    if not remote:
        entities["thing"] = remote_thing(text)
        return UNKNOWN_FACT, 1.0
    if len(remote) == 1:
        entities["service"] = remote[0]
    else:
        entities["service_options"] = remote
    return "pricing", 1.0
