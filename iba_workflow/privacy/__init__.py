"""Personal data over its whole life: encryption of identity fields, the citizen's
extract, retention, consent and law rules as checks. Import the submodules you need;
this package imports nothing heavy."""
