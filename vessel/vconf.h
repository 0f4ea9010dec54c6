/*
 * vconf.h — vesseld's configuration: the settings struct and the
 * config.h schema table (keys, types, ranges, defaults, help) that drives
 * parsing, refusals with line numbers and `vesseld --print-config`.
 * A library module (not in the main) so that unit tests load real files.
 */
#ifndef LIFELINE_VESSEL_VCONF_H
#define LIFELINE_VESSEL_VCONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/link.h"
#include "vessel/vctl.h"

#define VCONF_PATH_MAX (CONFIG_LINE_MAX + 1)    /* the longest value a line holds */
#define VCONF_WARN_ITEM_BYTES 32u

struct vconf {
	uint64_t vessel_id, link_rate, link_rtt, allowance, hb_ms, bundle_max, pin_fails, pin_lock_ms;
	char vessel_name[128], secret_key[VCONF_PATH_MAX], shore_key[VCONF_PATH_MAX];
	char inspector_key[VCONF_PATH_MAX], database[VCONF_PATH_MAX], control_socket[VCONF_PATH_MAX];
	char link[LINK_SPEC_MAX];
	int32_t zone;
	char warn[VCTL_WARN_MAX][VCONF_WARN_ITEM_BYTES];
	size_t nwarn;
	int log_level;
	struct vctl_config vctl;        /* derived by vconf_load() */
};

extern const struct config_key vconf_schema[];
extern const size_t vconf_nkeys;

/* config_load() with the schema, then derives c->vctl (allowance, zone,
 * warning percentages, PIN policy).  Returns 0, or config_load()'s errors
 * (err says why, with the line), ERR_CONFIG for more than VCTL_WARN_MAX
 * percentages in all. */
int vconf_load(const char *path, struct vconf *c, struct config_error *err) LL_MUST_CHECK;

#endif
