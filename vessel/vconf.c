/*
 * vconf.c — vesseld's configuration schema (see vconf.h; the keys are the
 * contract's, documented in vesseld.conf.sample).
 *
 * Invariants: every key has a type, a range and a default or is required;
 * relative paths are taken from the folder holding the file (config.h).
 * Failure behaviour: the first problem stops loading and is described in
 * struct config_error with its line; nothing logs or exits.
 */
#include "vessel/vconf.h"

#include <stdio.h>

#include "proto/bundle.h"
#include "vessel/quota.h"

static int check_warn(const char *v, char *why, size_t cap)
{
	uint32_t t[VCTL_WARN_MAX];
	return vctl_warn_parse(v, t, VCTL_WARN_MAX) > 0 ? 0 :
	       (snprintf(why, cap, "percentages from 1 to 100, e.g. 80, 95"), 1);
}

static int check_link(const char *v, char *why, size_t cap)
{
	return link_spec_check(v, why, cap) < 0;
}

#define S(f) offsetof(struct vconf, f), sizeof(((struct vconf *)0)->f)
#define U(f) .offset = offsetof(struct vconf, f)
const struct config_key vconf_schema[] = {
	{.name = "vessel_id", .type = CONFIG_UINT, U(vessel_id), .min = 1, .max = UINT32_MAX,
	 .required = true, .example = "1042", .help = "this vessel's number in the shore's registry"},
	{.name = "vessel_name", .type = CONFIG_STRING, S(vessel_name), .help = "shown in logs"},
	{.name = "secret_key", .type = CONFIG_PATH, S(secret_key), .min = 1, .required = true,
	 .example = "vessel.secret", .help = "this vessel's secret key (lifeline-keygen --role vessel)"},
	{.name = "shore_key", .type = CONFIG_PATH, S(shore_key), .min = 1, .required = true,
	 .example = "shore.public", .help = "the shore's public key file"},
	{.name = "inspector_key", .type = CONFIG_PATH, S(inspector_key),
	 .help = "the labour inspectors' public key; without it complaints are refused"},
	{.name = "database", .type = CONFIG_PATH, S(database), .min = 1, .def = "vessel.db",
	 .help = "SQLite database: crew, quota, outbox, inbox"},
	{.name = "link", .type = CONFIG_LINK, S(link), .min = 1, .required = true, .check = check_link,
	 .example = "serial:/dev/ttyUSB0?baud=19200", .help = "the satellite terminal: serial:... or tcp:HOST:PORT"},
	{.name = "link_rate", .type = CONFIG_UINT, U(link_rate), .min = 50, .max = 1000000000,
	 .def = "2400", .help = "link rate in bits per second (ARQ pacing)"},
	{.name = "link_rtt", .type = CONFIG_DURATION, U(link_rtt), .min = 1, .max = 600000,
	 .def = "1500ms", .help = "expected round trip of the link"},
	{.name = "control_socket", .type = CONFIG_PATH, S(control_socket), .min = 1,
	 .def = "vesseld.sock", .help = "Unix socket for vesselctl (mode 0660)"},
	{.name = "quota_allowance", .type = CONFIG_BYTES, U(allowance), .min = 1,
	 .max = QUOTA_ALLOWANCE_MAX_BYTES, .def = "1048576", .help = "text bytes per crew member per month"},
	{.name = "quota_zone", .type = CONFIG_TZ, U(zone), .def = "+07:00",
	 .help = "time zone of the calendar month (a fixed offset)"},
	{.name = "quota_warn", .type = CONFIG_LIST, offsetof(struct vconf, warn), VCONF_WARN_ITEM_BYTES, .min = 1,
	 .max_count = VCTL_WARN_MAX, .count_offset = offsetof(struct vconf, nwarn), .check = check_warn,
	 .def = "80, 95", .help = "warn a crew member on crossing these percentages of the allowance"},
	{.name = "heartbeat_interval", .type = CONFIG_DURATION, U(hb_ms), .min = 1000, .def = "6h",
	 .help = "how often a heartbeat (queue depth, crew count) goes ashore"},
	{.name = "bundle_max", .type = CONFIG_BYTES, U(bundle_max), .min = 256, .max = BUNDLE_PLAIN_MAX,
	 .def = "4096", .help = "largest bundle plaintext: messages are batched up to this"},
	{.name = "pin_max_failures", .type = CONFIG_UINT, U(pin_fails), .min = 1, .max = 100, .def = "5",
	 .help = "wrong PINs in a row that lock an account"},
	{.name = "pin_lock_time", .type = CONFIG_DURATION, U(pin_lock_ms), .min = 1000, .max = 604800000,
	 .def = "15m", .help = "how long such an account stays locked"},
	{.name = "log_level", .type = CONFIG_LOG_LEVEL, U(log_level), .def = "info",
	 .help = "error, warn, info, debug or io"},
};
const size_t vconf_nkeys = sizeof vconf_schema / sizeof vconf_schema[0];


int vconf_load(const char *path, struct vconf *c, struct config_error *err)
{
	int rc = config_load(path, vconf_schema, vconf_nkeys, c, err);
	if (rc < 0)
		return rc;
	c->vctl = (struct vctl_config){.allowance = c->allowance, .zone = c->zone,
		.pin = {.max_failures = (uint32_t)c->pin_fails,
			.lock_time_s = (int64_t)((c->pin_lock_ms + 999) / 1000)}};
	for (size_t i = 0; i < c->nwarn; i++) {
		int n = vctl_warn_parse(c->warn[i], c->vctl.warn + c->vctl.nwarn,
					VCTL_WARN_MAX - c->vctl.nwarn);
		if (n < 0) {
			if (err) {
				err->problem = CONFIG_PROBLEM_TOO_MANY;
				snprintf(err->msg, sizeof err->msg, "%s: quota_warn: at most %u "
					 "percentages in all", path, VCTL_WARN_MAX);
			}
			return ERR_CONFIG;
		}
		c->vctl.nwarn += (size_t)n;
	}
	return 0;
}
