"""End-to-end tests on a running stack (a package, so that its stack is a package-scoped fixture)."""
