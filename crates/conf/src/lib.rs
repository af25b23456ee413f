//! weir-conf (placeholder until its helper lands)
