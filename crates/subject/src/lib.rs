//! weir-subject (placeholder until its helper lands)
