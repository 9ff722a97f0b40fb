from saga_inspector.cli import main

raise SystemExit(main())
