from ksystui.cli import main

raise SystemExit(main())
