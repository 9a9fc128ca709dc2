"""`python -m sdlc.schemas [--out DIR]`: regenerate docs/schemas/."""

from sdlc.schemas.generate import main

raise SystemExit(main())
