//! weir-store (being written)
