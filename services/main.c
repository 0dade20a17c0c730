/* main.c: the wisp executable: the runtime's command line (runtime/cli.c)
 * with the services linked in, registered first. */
#include "builtin.h"
#include "node.h"

int main(int argc, char **argv)
{
	wisp_builtin_register();
	return wisp_main(argc, argv);
}
