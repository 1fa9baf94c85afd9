# pop3d: the POP3 handler (RFC 1939); logic in a library the tests link.
