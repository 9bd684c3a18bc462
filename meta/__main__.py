from fs3.meta.main import main

raise SystemExit(main())
