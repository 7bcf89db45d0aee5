"""Talking to customers: message templates (nl, en), rendering, SMTP sending and address-fix links.

``render`` turns a NOTIFY_CUSTOMER payload into subject, plain text and HTML; ``performer`` sends it
through the outbox (e-mail, or a customer note on the platform); ``fixlinks`` signs the links of the
address-fix page; ``preview`` is the ``ordercare preview`` subcommand.
"""
