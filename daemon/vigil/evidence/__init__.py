"""Evidence: clips of recorded footage and signed export packages."""
