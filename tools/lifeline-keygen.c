/*
 * lifeline-keygen — makes a vessel's, shore's or inspector's key pair files.
 *
 *     lifeline-keygen --role vessel|shore|inspector --id ID --out DIR
 *
 * Writes DIR/ID.secret (mode 0600) and DIR/ID.public (format in
 * common/keyfile.h) and prints where it wrote and the key id.  Never
 * overwrites a key file.  Exit status: 0 written, 1 could not write,
 * 2 bad arguments (usage printed).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/keyfile.h"

#define EXIT_WRITE 1
#define EXIT_USAGE 2

/* why NULL: help was asked for (stdout, exit 0); else a usage error. */
static int usage(const char *why)
{
	FILE *f = why ? stderr : stdout;
	if (why)
		fprintf(stderr, "lifeline-keygen: %s\n", why);
	fprintf(f,
		"usage: lifeline-keygen --role vessel|shore|inspector --id ID --out DIR\n"
		"  Writes DIR/ID.secret (mode 0600, keep it on this machine) and\n"
		"  DIR/ID.public (give it to the other side).  ID: 1 to %u of\n"
		"  A-Z a-z 0-9 . _ -, e.g. --id TH-1042.  Existing files are never\n"
		"  overwritten.\n", KEYFILE_ID_MAX);
	return why ? EXIT_USAGE : 0;
}

int main(int argc, char **argv)
{
	const char *role_s = NULL, *id = NULL, *dir = NULL;
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--role") == 0)
			slot = &role_s;
		else if (strcmp(argv[i], "--id") == 0)
			slot = &id;
		else if (strcmp(argv[i], "--out") == 0)
			slot = &dir;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(NULL);
		else
			return usage("unknown argument");
		if (i + 1 >= argc)
			return usage("an option lacks its value");
		if (*slot)
			return usage("an option is given twice");
		*slot = argv[++i];
	}
	if (!role_s || !id || !dir)
		return usage("--role, --id and --out are all required");
	enum keyfile_role role;
	if (keyfile_role_parse(role_s, &role) != 0)
		return usage("--role must be vessel, shore or inspector");
	if (!keyfile_id_valid(id))
		return usage("--id must be 1 to 64 of A-Z a-z 0-9 . _ - and not start with '.'");
	if (sodium_init() < 0) {
		fprintf(stderr, "lifeline-keygen: libsodium failed to initialise\n");
		return EXIT_WRITE;
	}
	struct keyfile_secret *s = NULL;
	if (keyfile_generate(role, id, &s) != 0) {
		fprintf(stderr, "lifeline-keygen: could not generate keys\n");
		return EXIT_WRITE;
	}
	static char sp[KEYFILE_PATH_MAX], pp[KEYFILE_PATH_MAX];
	struct keyfile_diag d;
	int rc = keyfile_write(dir, s, sp, pp, &d);
	char kid[KEYFILE_KEYID_HEX_BYTES];
	keyfile_key_id_hex(&s->pub, kid);
	keyfile_secret_free(s);
	if (rc != 0) {
		fprintf(stderr, "lifeline-keygen: %s\n", d.msg);
		return EXIT_WRITE;
	}
	printf("%s key \"%s\", key id %s\n  secret: %s (mode 0600, keep it here)\n"
	       "  public: %s\n", role_s, id, kid, sp, pp);
	return 0;
}
