import sys

from fs3.client.fuse.daemon import main

sys.exit(main())
