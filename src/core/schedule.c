#include "core/schedule.h"

#include "core/names.h"
#include "util/mem.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const recurrences[] = {"", "daily", "weekly", "monthly", "hours"};

void mr_schedule_init(struct mr_schedule *s)
{
    memset(s, 0, sizeof(*s));
    s->enabled = 1;
    s->day = -1;
}

void mr_schedule_clear(struct mr_schedule *s)
{
    mr_freep(&s->name);
    mr_freep(&s->filters);
    mr_freep(&s->format);
    mr_freep(&s->recipients);
    mr_freep(&s->directory);
    mr_freep(&s->last_result);
    mr_freep(&s->last_error);
}

const char *mr_recurrence_name(enum mr_recurrence r)
{
    return (unsigned)r < 5 ? recurrences[r] : "";
}

int mr_recurrence_parse(const char *text, enum mr_recurrence *out)
{
    for (int i = 1; i < 5; i++) {
        if (strcasecmp(text, recurrences[i]) == 0) {
            *out = (enum mr_recurrence)i;
            return 0;
        }
    }
    return MR_EINVAL;
}

int mr_email_valid(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || strchr(at + 1, '@') || !at[1] || strlen(a) > 254)
        return 0;
    for (const char *c = a; *c; c++)
        if ((unsigned char)*c <= ' ' || strchr(",;<>\"()[]\\", *c))
            return 0;
    return strchr(at + 1, '.') != NULL && at[strlen(at) - 1] != '.';
}

static void replace(char **dst, const char *text)
{
    free(*dst);
    *dst = text && *text ? mr_xstrdup(text) : NULL;
}

static int set_time(struct mr_schedule *s, const char *text, struct mr_problems *p)
{
    int h, m;
    char rest;
    if (sscanf(text, "%d:%d%c", &h, &m, &rest) != 2 || h < 0 || h > 23 || m < 0 || m > 59) {
        mr_problems_add(p, "at", "expected a time HH:MM, got '%.20s'", text);
        return MR_EINVAL;
    }
    s->hour = h;
    s->minute = m;
    return 0;
}

static int set_number(int *dst, const char *key, const char *text, long long min, long long max,
                      struct mr_problems *p)
{
    long long v;
    if (mr_parse_int(text, min, max, &v) != 0) {
        mr_problems_add(p, key, "expected a number from %lld to %lld, got '%.20s'", min, max, text);
        return MR_EINVAL;
    }
    *dst = (int)v;
    return 0;
}

static int set_day(struct mr_schedule *s, const char *text, struct mr_problems *p)
{
    static const char *const days[] = {"sunday",   "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"};
    for (int i = 0; i < 7; i++) {
        if (strncasecmp(text, days[i], 3) == 0 &&
            (strlen(text) == 3 || strcasecmp(text, days[i]) == 0)) {
            s->day = i;
            return 0;
        }
    }
    return set_number(&s->day, "day", text, 0, 31, p);
}

int mr_schedule_set(struct mr_schedule *s, const char *key, const char *text, struct mr_problems *p)
{
    if (strcmp(key, "name") == 0)
        replace(&s->name, text);
    else if (strcmp(key, "filters") == 0)
        replace(&s->filters, text);
    else if (strcmp(key, "format") == 0)
        replace(&s->format, text);
    else if (strcmp(key, "language") == 0) {
        if (mr_lang_parse(text, &s->language) != 0) {
            mr_problems_add(p, key, "expected en or pt-BR, got '%.20s'", text);
            return MR_EINVAL;
        }
    } else if (strcmp(key, "recipients") == 0)
        replace(&s->recipients, text);
    else if (strcmp(key, "directory") == 0)
        replace(&s->directory, text);
    else if (strcmp(key, "at") == 0)
        return set_time(s, text, p);
    else if (strcmp(key, "day") == 0)
        return set_day(s, text, p);
    else if (strcmp(key, "every_hours") == 0)
        return set_number(&s->every_hours, key, text, 1, 720, p);
    else if (strcmp(key, "enabled") == 0) {
        if (mr_parse_yes_no(text, &s->enabled) != 0) {
            mr_problems_add(p, key, "expected yes or no, got '%.20s'", text);
            return MR_EINVAL;
        }
    } else if (strcmp(key, "recurrence") == 0) {
        if (mr_recurrence_parse(text, &s->recurrence) != 0) {
            mr_problems_add(p, key, "expected daily, weekly, monthly or hours, got '%.20s'", text);
            return MR_EINVAL;
        }
    } else {
        mr_problems_add(p, key, "is not a schedule field");
        return MR_EINVAL;
    }
    return 0;
}

static void check_recipients(const char *list, struct mr_problems *p)
{
    char *copy = mr_xstrdup(list ? list : "");
    for (char *save = NULL, *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*a))
            a++;
        char *end = a + strlen(a);
        while (end > a && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!mr_email_valid(a)) {
            mr_problems_add(p, "recipients", "'%.80s' is not an e-mail address", a);
            break;
        }
    }
    free(copy);
}

int mr_schedule_validate(const struct mr_schedule *s, struct mr_problems *p)
{
    size_t before = p->count;
    mr_check_name(s->name, "name", p);
    if (!s->format || (strcmp(s->format, "csv") != 0 && strcmp(s->format, "html") != 0))
        mr_problems_add(p, "format", "must be csv or html");
    if (s->recurrence == MR_REC_UNSET)
        mr_problems_add(p, "recurrence", "is required (daily, weekly, monthly or hours)");
    if (s->recurrence == MR_REC_HOURS && !s->every_hours)
        mr_problems_add(p, "every_hours", "is required for a recurrence in hours");
    if (s->recurrence == MR_REC_WEEKLY && (s->day < 0 || s->day > 6))
        mr_problems_add(p, "day", "is required for a weekly report (sunday..saturday, or 0-6)");
    if (s->recurrence == MR_REC_MONTHLY && (s->day < 1 || s->day > 31))
        mr_problems_add(p, "day", "is required for a monthly report (1-31)");
    if (!s->recipients && !s->directory)
        mr_problems_add(p, "recipients", "give recipients, a directory, or both");
    if (s->recipients)
        check_recipients(s->recipients, p);
    if (s->directory && s->directory[0] != '/')
        mr_problems_add(p, "directory", "must be an absolute path");
    return p->count > before ? MR_EINVAL : 0;
}

static const char *const smtp_securities[] = {"starttls", "tls", "none", "none-insecure"};

int mr_smtp_security_parse(const char *text, enum mr_smtp_security *out)
{
    *out = MR_SMTP_STARTTLS;
    if (!text || !*text)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, smtp_securities[i]) == 0) {
            *out = (enum mr_smtp_security)i;
            return 0;
        }
    }
    return MR_EINVAL;
}

const char *mr_smtp_security_name(enum mr_smtp_security s)
{
    return (unsigned)s < 4 ? smtp_securities[s] : smtp_securities[0];
}

int mr_smtp_default_port(enum mr_smtp_security s)
{
    return s == MR_SMTP_STARTTLS ? 587 : s == MR_SMTP_TLS ? 465 : 25;
}

char *mr_report_base(const char *report_dir, const char *data_dir)
{
    if (report_dir && *report_dir)
        return mr_xstrdup(report_dir);
    return mr_xasprintf("%s/" MR_REPORT_DIR_DEFAULT, data_dir);
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 1 && leap ? 29 : days[month];
}

/* The candidate on the day `tm` names, at HH:MM local time. */
static int64_t at_time(struct tm tm, int hour, int minute)
{
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

int64_t mr_schedule_next(const struct mr_schedule *s, int64_t after)
{
    if (s->recurrence == MR_REC_HOURS)
        return after + (int64_t)(s->every_hours > 0 ? s->every_hours : 1) * 3600;
    time_t t = (time_t)after;
    struct tm tm;
    localtime_r(&t, &tm);
    for (int i = 0; i < 400; i++) { /* at most a year and a bit of days to look at */
        struct tm d = tm;
        d.tm_mday += i;
        d.tm_hour = 12; /* normalise the day without DST surprises */
        d.tm_isdst = -1;
        mktime(&d);
        int ok = s->recurrence == MR_REC_DAILY ||
                 (s->recurrence == MR_REC_WEEKLY && d.tm_wday == s->day) ||
                 (s->recurrence == MR_REC_MONTHLY &&
                  d.tm_mday == (s->day < days_in_month(d.tm_year + 1900, d.tm_mon)
                                    ? s->day
                                    : days_in_month(d.tm_year + 1900, d.tm_mon)));
        int64_t when = ok ? at_time(d, s->hour, s->minute) : 0;
        if (ok && when > after)
            return when;
    }
    return after + 86400;
}

int64_t mr_schedule_retry(const struct mr_schedule *s, int64_t now)
{
    int64_t delay = 300;
    for (int i = 1; i < s->failures && delay < 3600; i++)
        delay *= 2;
    if (delay > 3600)
        delay = 3600;
    int64_t next = mr_schedule_next(s, now);
    return now + delay < next ? now + delay : next;
}
