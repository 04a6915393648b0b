// placeholder until the crypto layer lands
namespace tokenbroker {}
