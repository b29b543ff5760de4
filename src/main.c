/* mailroom: a mail connector. The command line is the entry point for the
 * daemon (serve) and for every administrative command. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return mr_cli_main(argc, argv);
}
