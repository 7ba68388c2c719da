"""What a phase did and what orka decided of it: the record every report is made from (a leaf)."""
