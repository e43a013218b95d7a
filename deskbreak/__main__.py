from deskbreak.cli import main

raise SystemExit(main())
