import sys

from .run import exit_process, main

exit_process(main(sys.argv[1:]))
