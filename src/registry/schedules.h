/* Report schedules and the SMTP relay: validated, one transaction each,
 * recorded in the audit log. */
#ifndef MR_REGISTRY_SCHEDULES_H
#define MR_REGISTRY_SCHEDULES_H

#include "registry/registry.h"

/* Keys: name, filters (JSON), format, recurrence, at, day, every_hours,
 * recipients, directory, enabled. The next run is computed from now. A
 * directory given must be under base (mr_report_base), belong to mailroom's
 * user and be writable by no one else (util/safedir.h). */
int mr_registry_schedule_add(struct mr_registry *r, const char *base, const struct mr_input *in,
                             int64_t *id, struct mr_problems *p, mr_error *err);
int mr_registry_schedule_edit(struct mr_registry *r, const char *base, int64_t id,
                              const struct mr_input *in, struct mr_problems *p, mr_error *err);
int mr_registry_schedule_remove(struct mr_registry *r, int64_t id, mr_error *err);
/* Keys: smtp_host, smtp_port, smtp_security, smtp_credential (ID or name,
 * "" for none), smtp_from. */
int mr_registry_smtp_set(struct mr_registry *r, const struct mr_input *in, struct mr_problems *p,
                         mr_error *err);
/* The same inside the caller's transaction. */
int mr_registry_smtp_apply(struct mr_registry *r, const struct mr_input *in, struct mr_problems *p,
                           mr_error *err);
/* The API's settings: the default connector (ID, name, "" or "none" to
 * unset; NULL leaves it) and the SMTP keys of smtp, all or nothing. */
int mr_registry_settings_update(struct mr_registry *r, const char *connector,
                                const struct mr_input *smtp, struct mr_problems *p, mr_error *err);

#endif
