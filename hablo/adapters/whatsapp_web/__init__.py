"""The WhatsApp Web channel: a Playwright-driven Chromium per tenant, linked by QR.

For businesses without Cloud API access. `page_script` is the only module that knows
WhatsApp Web's page; `session` drives one tenant's browser; `registry` owns them all;
`pacing`, `history` and `sender` keep the number from looking like a bot.
"""

CHANNEL = "whatsapp_web"
