from hablo.cli import main

raise SystemExit(main())
