"""The console's words in Spanish and English (the user picks; the browser's language
is the first guess). Errors from the API operations are shown by their code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LANGUAGES = ("es", "en")

_TEXT: dict[str, tuple[str, str]] = {
    # key: (es, en)
    "app": ("Consola de hablo", "hablo console"),
    "skip": ("Ir al contenido", "Skip to content"),
    "language": ("Idioma", "Language"),
    "sign_in": ("Iniciar sesión", "Sign in"),
    "email": ("Correo electrónico", "E-mail"),
    "password": ("Contraseña", "Password"),
    "new_password": ("Nueva contraseña", "New password"),
    "forgot": ("¿Olvidaste la contraseña?", "Forgot your password?"),
    "code_title": ("Segundo paso", "Second step"),
    "code_email": (
        "Te enviamos un código de 6 cifras por correo.",
        "We mailed you a 6-digit code.",
    ),
    "code_totp": (
        "Escribe el código de 6 cifras de tu aplicación de autenticación.",
        "Type the 6-digit code from your authenticator app.",
    ),
    "code": ("Código", "Code"),
    "verify": ("Verificar", "Verify"),
    "forgot_title": ("Recuperar la contraseña", "Reset your password"),
    "forgot_help": (
        "Te enviaremos un enlace para elegir una contraseña nueva.",
        "We will mail you a link to choose a new password.",
    ),
    "send_link": ("Enviar enlace", "Send link"),
    "forgot_sent": (
        "Si hay una cuenta con ese correo, el enlace ya va en camino.",
        "If an account uses this e-mail, the link is on its way.",
    ),
    "reset_title": ("Elegir una contraseña nueva", "Choose a new password"),
    "invite_title": ("Aceptar la invitación", "Accept the invitation"),
    "invite_help": (
        "Elige tu contraseña. Después inicia sesión y configura tu segundo factor.",
        "Choose your password. Then sign in and set up your second factor.",
    ),
    "save_password": ("Guardar contraseña", "Save password"),
    "password_saved": (
        "Contraseña guardada. Ya puedes iniciar sesión.",
        "Password saved. You can sign in now.",
    ),
    "no_token": (
        "Falta el código del enlace: abre el enlace del correo otra vez.",
        "The link's code is missing: open the link from the e-mail again.",
    ),
    "back_to_sign_in": ("Volver a iniciar sesión", "Back to sign in"),
    "signed_out": ("Sesión cerrada.", "Signed out."),
    "session_expired": (
        "Tu sesión terminó; inicia sesión otra vez.",
        "Your session ended; sign in again.",
    ),
    "inbox": ("Bandeja", "Inbox"),
    "security": ("Seguridad", "Security"),
    "log_out": ("Cerrar sesión", "Log out"),
    "log_out_all": ("Cerrar sesión en todos los dispositivos", "Log out everywhere"),
    "log_out_all_help": (
        "Cierra todas tus sesiones, también las de otros navegadores y de la API.",
        "Ends all your sessions, also in other browsers and on the API.",
    ),
    "second_factor": ("Segundo factor", "Second factor"),
    "factor_totp": ("Aplicación de autenticación", "Authenticator app"),
    "factor_email": ("Código por correo", "Code by e-mail"),
    "factor_none": ("Ninguno", "None"),
    "factor_now": ("Ahora usas:", "You use now:"),
    "totp_start": ("Configurar una aplicación de autenticación", "Set up an authenticator app"),
    "totp_secret": (
        "Añade esta clave en tu aplicación (o abre el enlace en el teléfono) "
        "y escribe el primer código:",
        "Add this key to your app (or open the link on the phone) and type its first code:",
    ),
    "totp_link": ("Abrir en la aplicación", "Open in the app"),
    "totp_done": (
        "La aplicación de autenticación es tu segundo factor.",
        "The authenticator app is your second factor.",
    ),
    "welcome": ("¡Bienvenido! Configura tu segundo factor.", "Welcome! Set up your second factor."),
    # inbox
    "filters": ("Filtros", "Filters"),
    "status": ("Estado", "Status"),
    "channel": ("Canal", "Channel"),
    "assignee": ("Asignado a", "Assignee"),
    "label": ("Etiqueta", "Label"),
    "search": ("Buscar", "Search"),
    "search_placeholder": ("Nombre, teléfono o texto", "Name, phone or text"),
    "all": ("Todos", "All"),
    "apply": ("Aplicar", "Apply"),
    "st_waiting_human": ("Espera a una persona", "Waiting for a person"),
    "st_open": ("Abierta", "Open"),
    "st_in_progress": ("En curso", "In progress"),
    "st_closed": ("Cerrada", "Closed"),
    "nobody": ("Sin asignar", "Unassigned"),
    "me": ("Yo", "Me"),
    "no_conversations": (
        "No hay conversaciones con estos filtros.",
        "No conversations match these filters.",
    ),
    "messages_n": ("mensajes", "messages"),
    "conversation": ("Conversación", "Conversation"),
    "back_inbox": ("Volver a la bandeja", "Back to the inbox"),
    "take": ("Tomar", "Take"),
    "assign": ("Asignar", "Assign"),
    "release": ("Devolver al bot", "Give back to the bot"),
    "close": ("Cerrar", "Close"),
    "hand_to_human": ("Pasar a una persona", "Hand to a person"),
    "reply": ("Responder", "Reply"),
    "reply_placeholder": (
        "Escribe una respuesta… (/ para respuestas guardadas)",
        "Write a reply… (/ for saved replies)",
    ),
    "send": ("Enviar", "Send"),
    "attach_file": ("Adjuntar una imagen o un documento", "Attach an image or a document"),
    "attach_hint": (
        "JPEG o PNG, o un PDF, Word, Excel, PowerPoint o texto; hasta 5 MB.",
        "JPEG or PNG, or a PDF, Word, Excel, PowerPoint or text file; up to 5 MB.",
    ),
    "caption": ("Texto que lo acompaña (opcional)", "Caption (optional)"),
    "send_file": ("Mandar archivo", "Send file"),
    "image": ("Imagen", "Image"),
    "document": ("Documento", "Document"),
    "notes": ("Notas internas", "Internal notes"),
    "note_placeholder": (
        "Nota para el equipo (el cliente no la ve)",
        "Note for the team (the customer never sees it)",
    ),
    "add_note": ("Añadir nota", "Add note"),
    "no_notes": ("Sin notas todavía.", "No notes yet."),
    "contact": ("Contacto", "Contact"),
    "phone": ("Teléfono", "Phone"),
    "bookings": ("Reservas", "Bookings"),
    "no_bookings": ("Sin reservas.", "No bookings."),
    "customer": ("Cliente", "Customer"),
    "bot": ("Bot", "Bot"),
    "agent": ("Agente", "Agent"),
    "ds_received": ("recibido", "received"),
    "ds_pending": ("enviando", "sending"),
    "ds_sent": ("enviado", "sent"),
    "ds_delivered": ("entregado", "delivered"),
    "ds_read": ("leído", "read"),
    "ds_failed": ("falló", "failed"),
    "closed_note": ("Conversación cerrada.", "This conversation is closed."),
    "bot_silent": (
        "Una persona atiende: el bot no responde.",
        "A person is handling it: the bot stays silent.",
    ),
    "window_closed": (
        "Pasaron más de 24 horas desde el último mensaje del cliente: WhatsApp solo admite "
        "plantillas aprobadas. Lo que envíes sale como la plantilla",
        "More than 24 hours since the customer's last message: WhatsApp only allows approved "
        "templates. What you send goes out as the template",
    ),
    "template_with_text": ("con tu texto dentro.", "with your text in it."),
    "template_without_text": (
        "sin tu texto (la plantilla no lo lleva).",
        "without your text (the template does not carry it).",
    ),
    "no_templates": (
        "pero este negocio no configuró ninguna: el mensaje no llegará.",
        "but this business has none set up: the message will not arrive.",
    ),
    "labels": ("Etiquetas", "Labels"),
    "new_label": ("Nueva etiqueta", "New label"),
    "add": ("Añadir", "Add"),
    "remove": ("Quitar", "Remove"),
    "delete": ("Borrar", "Delete"),
    "rename": ("Renombrar", "Rename"),
    "saved_replies": ("Respuestas guardadas", "Saved replies"),
    "shortcut": ("Atajo", "Shortcut"),
    "text": ("Texto", "Text"),
    "notifications": ("Avisos", "Notifications"),
    "no_notifications": ("Sin avisos.", "No notifications."),
    "unread": ("sin leer", "unread"),
    "allow_notifications": ("Activar avisos del navegador", "Turn on browser notifications"),
    "live_on": ("En vivo", "Live"),
    "nk_handoff_requested": ("Un cliente pide una persona", "A customer asks for a person"),
    "nk_booking_created": ("Nueva reserva", "New booking"),
    "nk_channel_disconnected": ("Un canal se desconectó", "A channel disconnected"),
    # errors
    "err_generic": ("No se pudo hacer: ", "That did not work: "),
    "err_unauthorized": ("Correo o contraseña incorrectos.", "Wrong e-mail or password."),
    "err_account_locked": (
        "Demasiados intentos fallidos: la cuenta está bloqueada unos minutos.",
        "Too many failed attempts: the account is locked for a few minutes.",
    ),
    "err_invalid_code": ("Código incorrecto o vencido.", "Wrong or expired code."),
    "err_weak_password": ("Elige una contraseña más segura.", "Choose a stronger password."),
    "err_invalid_token": (
        "El enlace venció o ya se usó.",
        "This link expired or was already used.",
    ),
    "err_rate_limited": (
        "Demasiadas solicitudes; espera un momento.",
        "Too many requests; wait a moment.",
    ),
    "err_forbidden": ("Tu rol no permite hacer esto.", "Your role may not do this."),
    "err_validation_error": ("Revisa los datos del formulario.", "Check the form's fields."),
    "err_precondition_failed": (
        "Alguien cambió la conversación; recarga y prueba otra vez.",
        "Someone changed the conversation; reload and try again.",
    ),
    "err_unsupported_file": (
        "Ese archivo no se puede enviar: elige una imagen JPEG o PNG, o un PDF, Word, "
        "Excel, PowerPoint o texto.",
        "That file cannot be sent: choose a JPEG or PNG image, or a PDF, Word, Excel, "
        "PowerPoint or text file.",
    ),
    "err_file_too_large": (
        "El archivo pesa más de 5 MB.",
        "The file is larger than 5 MB.",
    ),
    "err_already_taken": (
        "Otra persona cambió quién atiende esta conversación hace un momento; mira quién la "
        "tiene ahora.",
        "Someone else changed who handles this conversation a moment ago; see who has it now.",
    ),
    "err_csrf": ("El formulario caducó; recarga la página.", "The form expired; reload the page."),
}


def translator(lang: str) -> Callable[[str], str]:
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        return _TEXT[key][index]

    return t


def error_text(lang: str, error: Any) -> str:
    """An API error in the user's words (by its code), else its own message."""
    code = getattr(error, "code", None)
    key = f"err_{code}"
    if key in _TEXT:
        return translator(lang)(key)
    message = getattr(error, "message", str(error))
    return translator(lang)("err_generic") + message
