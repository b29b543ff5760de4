#include "core/filter.h"

#include "util/error.h"
#include "util/text.h"

#include <strings.h>

void mr_account_filter_init(struct mr_account_filter *f)
{
    f->name = NULL;
    f->secure = f->automatic_check = f->keep_copy = f->enabled = f->errors = MR_ANY;
}

int mr_tristate_parse(const char *s, enum mr_tristate *out)
{
    int v;
    if (strcasecmp(s, "any") == 0 || strcasecmp(s, "all") == 0) {
        *out = MR_ANY;
        return 0;
    }
    if (mr_parse_yes_no(s, &v) != 0)
        return MR_EINVAL;
    *out = v ? MR_YES : MR_NO;
    return 0;
}

int mr_status_parse(const char *s, enum mr_tristate *out)
{
    if (strcasecmp(s, "enabled") == 0)
        *out = MR_YES;
    else if (strcasecmp(s, "disabled") == 0)
        *out = MR_NO;
    else if (strcasecmp(s, "all") == 0)
        *out = MR_ANY;
    else
        return MR_EINVAL;
    return 0;
}
