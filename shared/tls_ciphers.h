/*
 * tls_ciphers: the TLS 1.2 cipher lists of Pombo's servers, one place
 * for shared/tls.c (the handlers' in-process TLS) and pombo-tlsd.
 * Trusts nothing; only text.
 */
#ifndef POMBO_TLS_CIPHERS_H
#define POMBO_TLS_CIPHERS_H

/*
 * The TLS 1.2 suites a server offers: forward secret (ECDHE, DHE) and
 * AEAD (AES-GCM, ChaCha20-Poly1305) only, in this order, which the server
 * imposes (SSL_OP_CIPHER_SERVER_PREFERENCE): no static-RSA key exchange
 * (nothing forward secret), no CBC (Lucky 13, padding oracles); RFC 7525
 * 4.2 recommends exactly these. Every client of the last ten years has one
 * (Mozilla's "intermediate" list). TLS 1.3 suites are all AEAD and
 * forward secret: OpenSSL's defaults stay.
 */
#define TLS_SERVER_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
	"DHE-RSA-CHACHA20-POLY1305"
/*
 * An MX (smtpd on port 25) is reached by other MTAs with opportunistic
 * STARTTLS: one that knows none of the above would send in the clear.
 * For them, after the above and only when nothing above is shared, the
 * forward-secret CBC suites (Windows Server 2008 R2's schannel has no
 * GCM). Still no static-RSA key exchange.
 */
#define TLS_MX_CIPHERS TLS_SERVER_CIPHERS ":" \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:" \
	"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:" \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:" \
	"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:" \
	"DHE-RSA-AES128-SHA256:DHE-RSA-AES128-SHA:" \
	"DHE-RSA-AES256-SHA256:DHE-RSA-AES256-SHA"

#endif
