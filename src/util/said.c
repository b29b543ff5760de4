#include "util/said.h"

#include <string.h>

json_t *mr_said_json(const struct mr_said *s)
{
    if (!s->format || strcmp(s->format, "%s") == 0)
        return NULL; /* a message passed on says nothing of how it was said */
    json_t *args = json_array();
    for (unsigned i = 0; i < s->nargs; i++)
        json_array_append_new(args, json_string(mr_said_arg(s, i)));
    /* an argument cut inside a UTF-8 character is no JSON string: no said */
    if (json_array_size(args) != s->nargs) {
        json_decref(args);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "format", s->format, "args", args);
}

json_t *mr_error_said_json(const mr_error *err)
{
    if (!err || !mr_error_said_valid(err))
        return NULL;
    json_t *parts = json_array();
    for (unsigned i = 0; i <= err->nprefix; i++) {
        json_t *p = mr_said_json(i < err->nprefix ? &err->prefix[i] : &err->said);
        if (!p) {
            json_decref(parts);
            return NULL;
        }
        json_array_append_new(parts, p);
    }
    return parts;
}

char *mr_error_said_text(const mr_error *err)
{
    json_t *j = mr_error_said_json(err);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

void mr_error_from_said(mr_error *err, int code, const char *text, const struct mr_said *said)
{
    mr_error_set(err, code, "", "%s", text); /* the message, and its hash */
    if (said && said->format && strcmp(err->message, text) == 0)
        err->said = *said;
}
