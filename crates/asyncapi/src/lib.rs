//! AsyncAPI 3.x contracts for Weir (issue 9). Being built.
