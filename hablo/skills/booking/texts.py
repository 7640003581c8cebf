"""The booking skill's reply templates (es, en). Tenants override them like any other."""

TEMPLATES: dict[str, dict[str, str]] = {
    "booking_ask_service": {
        "es": "¡Dale! ¿Para qué servicio? Tenemos: {{ services | join(', ') }}.",
        "en": "Sure! Which service? We have: {{ services | join(', ') }}.",
    },
    "booking_ask_day": {
        "es": "¿Para qué día querés el turno de {{ service }}?",
        "en": "Which day would you like your {{ service }} appointment?",
    },
    "booking_ask_time": {
        "es": "¿A qué hora? El {{ day }} tengo libre: {{ slots | join(', ') }}.",
        "en": "What time? On {{ day }} I have: {{ slots | join(', ') }}.",
    },
    "booking_day_full": {
        "es": "El {{ day }} no me quedan turnos para {{ service }}. {{ options_text }}",
        "en": "There's nothing left on {{ day }} for {{ service }}. {{ options_text }}",
    },
    "booking_unavailable": {
        "es": "{{ reason }} {{ options_text }}",
        "en": "{{ reason }} {{ options_text }}",
    },
    "booking_period_full": {
        "es": "En ese horario no me queda nada libre. {{ options_text }}",
        "en": "Nothing is free at that time of day. {{ options_text }}",
    },
    "booking_which_option": {
        "es": "¿Cuál de estos horarios te reservo?{% for o in options %}{{ '\\n' }}{{ loop.index }}) {{ o }}{% endfor %}{{ '\\n' }}Respondé con el número.",
        "en": "Which of these times shall I book?{% for o in options %}{{ '\\n' }}{{ loop.index }}) {{ o }}{% endfor %}{{ '\\n' }}Reply with the number.",
    },
    "booking_price_note": {
        "es": "{{ service }} sale {{ price }}.",
        "en": "{{ service }} is {{ price }}.",
    },
    "booking_confirm": {
        "es": "¿Te reservo {{ service }} el {{ when }} ({{ price }})?",
        "en": "Shall I book {{ service }} on {{ when }} ({{ price }})?",
    },
    "booking_done": {
        "es": "¡Listo! ✅ Te reservé {{ service }} el {{ when }}. Te esperamos en {{ tenant.address or tenant.name }}.",
        "en": "Done! ✅ {{ service }} is booked for {{ when }}. See you at {{ tenant.address or tenant.name }}.",
    },
    "booking_taken": {
        "es": "Ese horario no está disponible. {{ options_text }}",
        "en": "That time isn't available. {{ options_text }}",
    },
    "booking_options": {
        "es": "Te puedo ofrecer:{% for o in options %}{{ '\\n' }}{{ loop.index }}) {{ o }}{% endfor %}{{ '\\n' }}¿Cuál te queda bien?",
        "en": "I can offer:{% for o in options %}{{ '\\n' }}{{ loop.index }}) {{ o }}{% endfor %}{{ '\\n' }}Which one suits you?",
    },
    "booking_no_options": {
        "es": "No encuentro horarios libres cerca de esa fecha. ¿Probamos con otro día?",
        "en": "I can't find free times near that date. Shall we try another day?",
    },
    "booking_past": {
        "es": "El {{ day }} ya pasó 🙂 ¿Para qué día lo querés?{% if ask_service %} ¿Y para qué servicio? Tenemos: {{ services | join(', ') }}.{% endif %}",
        "en": "{{ day }} has already passed 🙂 Which day would you like?{% if ask_service %} And which service? We have: {{ services | join(', ') }}.{% endif %}",
    },
    "booking_too_far": {
        "es": "El {{ day }} todavía no está disponible: se puede reservar hasta el {{ last }}. ¿Te sirve algún día antes?{% if ask_service %} ¿Y para qué servicio? Tenemos: {{ services | join(', ') }}.{% endif %}",
        "en": "{{ day }} isn't open yet: appointments can be made up to {{ last }}. Would an earlier day work?{% if ask_service %} And which service? We have: {{ services | join(', ') }}.{% endif %}",
    },
    "booking_closed_ask_service": {
        "es": "{% if holiday %}El {{ day }} es feriado ({{ holiday }}) y estamos cerrados{% else %}El {{ day }} estamos cerrados{% endif %} 🙁 ¿Para qué servicio querés el turno? Tenemos: {{ services | join(', ') }}. Así te busco el día más cercano.",
        "en": "{% if holiday %}{{ day }} is a holiday ({{ holiday }}) and we're closed{% else %}We're closed on {{ day }}{% endif %} 🙁 Which service would you like? We have: {{ services | join(', ') }}. Then I'll find the nearest day.",
    },
    "booking_next_options": {
        "es": "Para {{ service }} justo después no me queda lugar. {{ options_text }}",
        "en": "There's no room for {{ service }} right after. {{ options_text }}",
    },
    "booking_denied": {
        "es": "Sin problema. ¿Qué otro día u horario te sirve?",
        "en": "No problem. Which other day or time works for you?",
    },
    "booking_abandoned": {
        "es": "Listo, no reservé nada. Si querés sacar un turno más tarde, escribime.",
        "en": "Okay, I didn't book anything. Write to me whenever you want an appointment.",
    },
    "booking_resume": {
        "es": "Sigamos con tu turno: {{ question }}",
        "en": "Back to your appointment: {{ question }}",
    },
    "booking_none": {
        "es": "No tenés turnos próximos. ¿Querés sacar uno?",
        "en": "You have no upcoming appointments. Would you like to book one?",
    },
    "booking_list": {
        "es": "Tus próximos turnos:{% for b in bookings %}{{ '\\n' }}{{ loop.index }}) {{ b }}{% endfor %}",
        "en": "Your upcoming appointments:{% for b in bookings %}{{ '\\n' }}{{ loop.index }}) {{ b }}{% endfor %}",
    },
    "booking_pick": {
        "es": "¿Cuál? Tus próximos turnos:{% for b in bookings %}{{ '\\n' }}{{ loop.index }}) {{ b }}{% endfor %}{{ '\\n' }}Respondé con el número, el día o el servicio.",
        "en": "Which one? Your upcoming appointments:{% for b in bookings %}{{ '\\n' }}{{ loop.index }}) {{ b }}{% endfor %}{{ '\\n' }}Reply with the number, the day or the service.",
    },
    "booking_cancel_confirm": {
        "es": "¿Cancelo tu turno de {{ booking }}?",
        "en": "Shall I cancel your appointment: {{ booking }}?",
    },
    "booking_cancelled": {
        "es": "Listo, cancelé tu turno de {{ booking }}. ¡Gracias por avisar!",
        "en": "Done, your appointment ({{ booking }}) is cancelled. Thanks for letting us know!",
    },
    "booking_kept": {
        "es": "Perfecto, tu turno sigue en pie. 👍",
        "en": "Great, your appointment stays as it is. 👍",
    },
    "booking_reschedule_ask": {
        "es": "¿Para qué día y hora querés pasar tu turno de {{ booking }}?",
        "en": "Which day and time would you like to move your appointment ({{ booking }}) to?",
    },
    "booking_rescheduled": {
        "es": "¡Listo! ✅ Pasé tu turno de {{ service }} al {{ when }}.",
        "en": "Done! ✅ Your {{ service }} appointment is now on {{ when }}.",
    },
    "booking_reschedule_confirm": {
        "es": "¿Paso tu turno de {{ service }} al {{ when }}?",
        "en": "Shall I move your {{ service }} appointment to {{ when }}?",
    },
    "booking_reminder": {
        "es": "¡Hola! 👋 Te recordamos tu turno de {{ service }} el {{ when }} en {{ tenant.name }}. ¿Confirmás que venís? (sí / no)",
        "en": "Hi! 👋 A reminder of your {{ service }} appointment on {{ when }} at {{ tenant.name }}. Are you coming? (yes / no)",
    },
    "booking_reminder_confirmed": {
        "es": "¡Genial! Te esperamos. 😊",
        "en": "Great! See you then. 😊",
    },
    "booking_closed_day": {
        "es": "{% if holiday %}El {{ day }} es feriado ({{ holiday }}) y estamos cerrados.{% else %}El {{ day }} estamos cerrados.{% endif %} {{ options_text }}",
        "en": "{% if holiday %}{{ day }} is a holiday ({{ holiday }}) and we're closed.{% else %}We're closed on {{ day }}.{% endif %} {{ options_text }}",
    },
}
