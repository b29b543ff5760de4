#!/usr/bin/env python3
"""The sentences mailroom says to people, and their Portuguese.

Every message the daemon writes for a person goes through a printf format
(mr_error_set, mr_problems_add, mr_steps_add, mr_session_step,
mr_http_error, mr_error_prefix, net/proxy.c's proxy_step, deliver's
mr_dr_set, discover's note and proposal_note, and SAID("...") marking a
sentence of a table, as gettext's N_()): the format, a string literal or each literal branch of a
conditional (cond ? "a %s" : "b %s"), is the sentence's stable id
(as gettext's msgid), and the API sends it with its arguments
(util/said.h). web/js/said-pt.js holds the Portuguese of each, with {1},
{2}, ... for the arguments in order.

  said-catalog.py list          every format, with where it is said
  said-catalog.py check         fails on a translation whose sentence is
                                gone, or whose {n} has no argument; prints
                                how many are translated
  said-catalog.py missing       the formats with no translation yet
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALLS = re.compile(r"\b(mr_error_set|mr_problems_add|mr_steps_add|mr_session_step|mr_http_error|"
                   r"mr_error_prefix|proxy_step|mr_dr_set|note|proposal_note|SAID)\s*\(")
# the format is the first string literal after these many arguments
SKIP = {"mr_error_set": 3, "mr_problems_add": 2, "mr_steps_add": 4, "mr_session_step": 4,
        "mr_http_error": 4, "mr_error_prefix": 1, "proxy_step": 4, "mr_dr_set": 2,
        "note": 2, "proposal_note": 1, "SAID": 0}
CONVERSION = re.compile(r"%(?:%|[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|j|z|t|L)?"
                        r"[diouxXcsfgep])")


def unescape(lit):
    return bytes(lit, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def args_of(text, start):
    """Splits a call's arguments (to the matching parenthesis)."""
    depth, i, cur, out, in_str = 0, start, "", [], None
    while i < len(text):
        c = text[i]
        if in_str:
            cur += c
            if c == "\\":
                cur += text[i + 1]
                i += 1
            elif c == in_str:
                in_str = None
        elif c in "\"'":
            in_str = c
            cur += c
        elif c in "([{":
            depth += 1
            cur += c
        elif c in ")]}":
            if depth == 0:
                out.append(cur)
                return out
            depth -= 1
            cur += c
        elif c == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    return out


LITERALS = re.compile(r'"((?:[^"\\]|\\.)*)"(?:\s*"((?:[^"\\]|\\.)*)")*')


def literal_formats(arg):
    """The formats an argument can be: a string literal (adjacent ones
    joined), or each literal branch of a conditional, nested ones too
    (cond ? "a %s" : other ? "b %s" : "c %s")."""
    arg = arg.strip()
    if arg.startswith('"'):
        return [unescape("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', arg)))]
    out = []
    for m in LITERALS.finditer(arg):
        before = arg[:m.start()].rstrip()
        after = arg[m.end():].lstrip()
        if before.endswith(("?", ":")) and (not after or after[0] in ":"):
            out.append(unescape("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(0)))))
    return out


def formats():
    found = {}
    for d, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in sorted(files):
            if not f.endswith(".c"):
                continue
            path = os.path.join(d, f)
            text = open(path, encoding="utf-8").read()
            for m in CALLS.finditer(text):
                args = args_of(text, m.end())
                skip = SKIP[m.group(1)]
                if len(args) <= skip:
                    continue
                line = text.count("\n", 0, m.start()) + 1
                for fmt in literal_formats(args[skip]):
                    if fmt == "%s":
                        continue  # a message passed on: said where it was made
                    found.setdefault(fmt, []).append(f"{os.path.relpath(path, ROOT)}:{line}")
    return found


def catalog():
    path = os.path.join(ROOT, "web", "js", "said-pt.js")
    text = open(path, encoding="utf-8").read()
    start = text.index("export const pt = ") + len("export const pt = ")
    body = text[start:text.rindex("}") + 1]
    return json.loads(body)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    found = formats()
    if cmd == "list":
        for fmt, where in sorted(found.items()):
            print(json.dumps(fmt, ensure_ascii=False), " ".join(where))
        return 0
    pt = catalog()
    if cmd == "missing":
        for fmt, where in sorted(found.items(), key=lambda x: x[1][0]):
            if fmt not in pt:
                print(json.dumps(fmt, ensure_ascii=False), "#", where[0])
        return 0
    bad = []
    for fmt, tr in pt.items():
        if fmt not in found:
            bad.append(f"no longer said: {fmt!r}")
            continue
        n = len([c for c in CONVERSION.findall(fmt) if c != "%%"])  # a * is no word of its own
        for k in re.findall(r"\{(\d+)\}", tr):
            if not 1 <= int(k) <= n:
                bad.append(f"{{{k}}} in the translation of {fmt!r}, which has {n} argument(s)")
    for b in bad:
        print("said-catalog:", b)
    print(f"said-catalog: {len([f for f in found if f in pt])} of {len(found)} sentences "
          f"have Portuguese")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
