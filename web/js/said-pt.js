// The Portuguese (pt-BR) of what the daemon says to people, keyed by the
// English printf format it is said with (the sentence's stable id, see
// src/util/said.h); {1}, {2}, ... are its arguments in order. The file is
// a JSON object so that scripts/said-catalog.py can check it: every key is
// still said somewhere, and every {n} has an argument. A sentence without
// Portuguese is shown in English.
export const pt = {
  "the folder '%s' does not exist on the server%s": "a pasta '{1}' não existe no servidor{2}"
};
