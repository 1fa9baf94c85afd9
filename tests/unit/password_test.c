/* password: what in a crypt(3) hash sets the cost of checking it. */
#include <criterion/criterion.h>
#include <string.h>

#include "password.h"

Test(password, cost_prefix_table)
{
	static const struct {
		const char *hash, *prefix;
	} t[] = {
		{ "$6$saltsalt$checksum", "$6$" },
		{ "$6$rounds=1000000$saltsalt$checksum", "$6$rounds=1000000$" },
		{ "$5$rounds=5000$s$c", "$5$rounds=5000$" },
		{ "$y$j9T$saltsalt$checksum", "$y$j9T$" },
		{ "$y$jCT$saltsalt$checksum", "$y$jCT$" },
		{ "$gy$j9T$saltsalt$checksum", "$gy$j9T$" },
		{ "$1$saltsalt$checksum", "$1$" },
		{ "$3$$checksum", "$3$" },
		{ "$sha1$40000$salt$checksum", "$sha1$40000$" },
		/* bcrypt: salt and checksum in one field after the cost */
		{ "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		  "$2b$12$" },
		{ "$2y$05$abcdefghijklmnopqrstuv", "$2y$05$" },
		/* scrypt: N, r, p in the 11 characters after $7$ */
		{ "$7$CU..../....salt$checksum", "$7$CU..../...." },
		/* BSDi: the count in the 4 characters after _ */
		{ "_J9..saltchecksumxxx", "_J9.." },
		/* DES: one cost */
		{ "saLDEShashhash", "" },
		/* malformed: never shorter than the scheme's id */
		{ "$6$nosalt", "$6$" },
		{ "$6", "$6" },
		{ "$", "$" },
		{ "", "" },
	};
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = password_cost_prefix(t[i].hash);
		cr_expect(n == strlen(t[i].prefix) &&
		    strncmp(t[i].hash, t[i].prefix, n) == 0,
		    "%s: %zu octets, expected \"%s\"", t[i].hash, n,
		    t[i].prefix);
	}
}
