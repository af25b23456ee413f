//! weir-protocol (placeholder until its helper lands)
