#include "core/lang.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mr_lang_parse(const char *text, enum mr_lang *out)
{
    *out = MR_LANG_EN;
    if (!text)
        return MR_EINVAL;
    size_t n = strcspn(text, ",;"); /* the first of a list, without its weight */
    while (n && text[n - 1] == ' ')
        n--;
    while (n && *text == ' ')
        text++, n--;
    if (n >= 2 && strncasecmp(text, "pt", 2) == 0 &&
        (n == 2 || text[2] == '-' || text[2] == '_' || text[2] == '.'))
        *out = MR_LANG_PT_BR;
    else if (n >= 2 && strncasecmp(text, "en", 2) == 0 &&
             (n == 2 || text[2] == '-' || text[2] == '_' || text[2] == '.'))
        *out = MR_LANG_EN;
    else if ((n == 1 && *text == 'C') || (n == 5 && strncmp(text, "POSIX", 5) == 0) ||
             (n >= 2 && strncmp(text, "C.", 2) == 0))
        *out = MR_LANG_EN;
    else
        return MR_EINVAL;
    return 0;
}

const char *mr_lang_name(enum mr_lang l)
{
    return l == MR_LANG_PT_BR ? "pt-BR" : "en";
}

enum mr_lang mr_lang_from_env(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    enum mr_lang l = MR_LANG_EN;
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            mr_lang_parse(v, &l);
            return l;
        }
    }
    return l;
}
