from hotmig_tui.cli import main

raise SystemExit(main())
