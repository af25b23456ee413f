//! weir-jsapi (being written)
