//! Tests of `rules:`: the expression language against GitLab's documented examples
//! ([`expressions`]), decisions for whole files ([`decisions`]), and what the person sees on a
//! mistake ([`errors`]).

mod decisions;
mod errors;
mod expressions;
