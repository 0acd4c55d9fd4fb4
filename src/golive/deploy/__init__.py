"""Deploy providers: make a revision run, tell whether it is ready, retire it."""
