/** 'spnego/capture': the tokens of any negotiation as a pcap of HTTP Negotiate over TCP, for Wireshark. */
export { NegotiationRecorder, type RecordedExchange, type RecordedToken, type RecorderOptions, type Side } from './recorder.js';
export { pcapFile, internetChecksum, LINKTYPE_IPV4, DEFAULT_MSS, type TcpStream, type TcpMessage, type TcpEndpoint } from './pcap.js';
