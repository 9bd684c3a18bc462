from fs3.storage.main import main

raise SystemExit(main())
