"""The dashboard's screens: the main one, help, the full payload viewer, the error screen."""
