from docketbert.data.synthetic.cli import main

raise SystemExit(main())
