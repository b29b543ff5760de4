/* The languages people read mailroom in: the console's two, for what the
 * daemon writes for a person (reports, CSV exports). */
#ifndef MR_CORE_LANG_H
#define MR_CORE_LANG_H

enum mr_lang { MR_LANG_EN, MR_LANG_PT_BR };

/* "en", "pt-BR", and what locales and browsers say: "pt_BR.UTF-8", "pt",
 * "pt-br;q=0.9" (the first of an Accept-Language list). 0, or MR_EINVAL
 * for anything else (out stays English). */
int mr_lang_parse(const char *text, enum mr_lang *out);
const char *mr_lang_name(enum mr_lang l); /* "en", "pt-BR" */
/* The command line's: LC_ALL, else LC_MESSAGES, else LANG; English when
 * none is Portuguese. */
enum mr_lang mr_lang_from_env(void);

#endif
