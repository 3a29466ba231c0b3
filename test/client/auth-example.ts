// AUTH.md's worked example, value for value (shared by the unit and end-to-end tests).
export const AUTH_EXAMPLE = {
  userId: 1,
  passphrase: 'opensesame',
  serverNonceB64: 'azRzAi5rm1ry/l0drnz1vw==',
  serverNonceHex: '6b3473022e6b9b5af2fe5d1dae7cf5bf',
  clientNonceHex: 'f08c98caf1fd82e8cea9825dbff04fd0',
  clientNonceB64: '8IyYyvH9gujOqYJdv/BP0A==',
  cookie: 'HGREqcILTz8blHa/jsUTVTNBJlg=',
  privateKeyHex: 'b89ea7fcd22cc059c2673dc24ff40b978307464686560d0ad7561b83',
  rHex: '3fb77a9d7b5b2a68209e76f6872078c5791340d5989854ada3ab735e',
  sHex: '34b843412f18a910f18a7d4ce1d3597860e6345b22bf7894cf67780a',
  signature: ['P7d6nXtbKmggnnb2hyB4xXkTQNWYmFSto6tzXg==', 'NLhDQS8YqRDxin1M4dNZeGDmNFsiv3iUz2d4Cg=='] as [string, string],
};
