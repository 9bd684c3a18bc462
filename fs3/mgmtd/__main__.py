from fs3.mgmtd.main import main

raise SystemExit(main())
