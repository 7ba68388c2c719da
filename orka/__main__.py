from orka.cli import main

raise SystemExit(main())
