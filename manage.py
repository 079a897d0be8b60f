#!/usr/bin/env python
"""Same as the `insurdesk` console command, for those who expect manage.py."""

from insurdesk.cli import main

if __name__ == "__main__":
    main()
