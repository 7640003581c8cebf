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
        "es": "Te puedo ofrecer: {% for o in options %}{{ loop.index }}) {{ o }}{{ '; ' if not loop.last }}{% endfor %}. ¿Cuál te queda bien?",
        "en": "I can offer: {% for o in options %}{{ loop.index }}) {{ o }}{{ '; ' if not loop.last }}{% endfor %}. Which one suits you?",
    },
    "booking_no_options": {
        "es": "No encuentro horarios libres cerca de esa fecha. ¿Probamos con otro día?",
        "en": "I can't find free times near that date. Shall we try another day?",
    },
    "booking_past": {
        "es": "Esa fecha ya pasó 🙂 ¿Para qué día lo querés?",
        "en": "That date has already passed 🙂 Which day would you like?",
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
        "es": "Tus próximos turnos:{% for b in bookings %}\n{{ loop.index }}) {{ b }}{% endfor %}",
        "en": "Your upcoming appointments:{% for b in bookings %}\n{{ loop.index }}) {{ b }}{% endfor %}",
    },
    "booking_pick": {
        "es": "¿Cuál? Tus próximos turnos:{% for b in bookings %}\n{{ loop.index }}) {{ b }}{% endfor %}\nRespondé con el número.",
        "en": "Which one? Your upcoming appointments:{% for b in bookings %}\n{{ loop.index }}) {{ b }}{% endfor %}\nReply with the number.",
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
        "es": "Ese día estamos cerrados{{ ' (' ~ holiday ~ ')' if holiday }}. {{ options_text }}",
        "en": "We're closed that day{{ ' (' ~ holiday ~ ')' if holiday }}. {{ options_text }}",
    },
}
