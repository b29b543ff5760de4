/* Sentences as said (util/error.h's mr_said) as JSON, for the API and the
 * store: {"format": English printf format, "args": [text, ...]}; an error
 * is the list of its parts, outermost prefix first, each joined to the
 * next by ": " as in its message. The console says them in the reader's
 * language (web/js/said.js), and in English when it has no translation. */
#ifndef MR_UTIL_SAID_H
#define MR_UTIL_SAID_H

#include "util/error.h"

#include <jansson.h>

json_t *mr_said_json(const struct mr_said *s); /* NULL when nothing was said */
/* err's parts, or NULL when its message is not (or no longer) what was said. */
json_t *mr_error_said_json(const mr_error *err);
/* The same as compact JSON text for the store; NULL when nothing. */
char *mr_error_said_text(const mr_error *err);
/* An error whose message is text, said as said (format NULL: English only). */
void mr_error_from_said(mr_error *err, int code, const char *text, const struct mr_said *said);

#endif
